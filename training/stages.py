"""The training stages (STAGE_TABLE: what each does, declared once) and one generator /
discriminator step. fit.py, training.feature_fill, the benches and the README's stage table read
STAGE_TABLE; loss sets follow docs/method.md §5."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

import losses
from models import build_discriminator

from . import backbone_paths
from .config_loader import ConfigError

LPIPS_PLUS_REFERENCES = ("target", "output")  # config key lpips_plus_reference (docs/paired_losses.md)


@dataclass(frozen=True)
class Stage:
    """What one training stage does."""
    name: str
    terms: tuple[str, ...]           # its loss terms, in logging order; adv_<name> is discriminator <name>
    goal: str                        # the sample key its content (and pixel) terms compare with
    content_space: str | None        # colour space of the content loss; None: config key paired_content_space
    reads_reference: bool            # the dataset computes the demosaiced reference (config key demosaic)
    paired: bool                     # targets pixel-aligned with the inputs, else an independently shuffled pool
    needs_targets: bool              # a split without target images is refused
    step_budget_key: str             # config key holding its number of generator steps
    discriminators: tuple[str, ...]  # the discriminators it trains, in build order
    starts_from_pretrain: bool       # its generator starts from the pretrain stage's (pretrained_generator)

    def __post_init__(self):
        adversarial = {t.removeprefix("adv_") for t in self.terms if t.startswith("adv_")}
        assert adversarial == set(self.discriminators), f"{self.name}: adv terms and discriminators differ"


STAGE_TABLE = {stage.name: stage for stage in (
    Stage("pretrain", ("content", "mse", "tv"), goal="reference", content_space=None, reads_reference=True,
          paired=True, needs_targets=False, step_budget_key="pretrain_steps", discriminators=(),
          starts_from_pretrain=False),
    Stage("unpaired", ("content", "adv_color", "adv_lin0", "adv_lin3", "tv"), goal="reference",
          content_space="lab_l", reads_reference=True, paired=False, needs_targets=True,
          step_budget_key="max_steps", discriminators=("lin0", "lin3", "color"), starts_from_pretrain=True),
    Stage("paired", ("content", "lpips_plus", "dists", "tv", "color", "adv_lin0", "adv_lin3"), goal="target",
          content_space=None, reads_reference=False, paired=True, needs_targets=True,
          step_budget_key="max_steps", discriminators=("lin0", "lin3"), starts_from_pretrain=True),
    Stage("paired_no_adv", ("content", "lpips_plus", "dists", "tv", "color"), goal="target", content_space=None,
          reads_reference=False, paired=True, needs_targets=True, step_budget_key="max_steps",
          discriminators=(), starts_from_pretrain=True),
    # Semantic pseudo pairs (docs/pairing.md): structure from the reference, colour from the matched photo.
    Stage("pseudo_paired", ("content", "color_dist", "tv"), goal="reference", content_space="lab_l",
          reads_reference=True, paired=False, needs_targets=True, step_budget_key="pseudo_paired_steps",
          discriminators=(), starts_from_pretrain=True),
)}
STAGES = tuple(STAGE_TABLE)


def content_goal(stage: str, paired_content_space: str) -> tuple[str, str]:
    """(sample key, colour space) of the stage's content loss goal."""
    spec = STAGE_TABLE[stage]
    return spec.goal, spec.content_space or paired_content_space


def stage_table_markdown() -> str:
    """The README's stage table, written from STAGE_TABLE (tests/test_stages.py keeps the README in step)."""
    rows = ["| stage | loss terms | content goal | targets | step budget | discriminators | starts from |",
            "|---|---|---|---|---|---|---|"]
    for s in STAGE_TABLE.values():
        goal = "demosaiced reference" if s.goal == "reference" else "target"
        space = s.content_space or "`paired_content_space`"
        targets = ("paired" if s.paired else "unpaired") + ("" if s.needs_targets else ", optional")
        start = "pretrain stage" if s.starts_from_pretrain else "random init"
        rows.append(f"| `{s.name}` | {', '.join(s.terms)} | {goal} ({space}) | {targets} | `{s.step_budget_key}` "
                    f"| {', '.join(s.discriminators) or '-'} | {start} |")
    return "\n".join(rows)


@dataclass
class LossKit:
    """Frozen feature networks and the discriminators a stage needs."""
    stage: str
    vgg: torch.nn.Module
    texture: torch.nn.Module | None = None
    color: torch.nn.Module | None = None
    lpips_plus: torch.nn.Module | None = None
    dists: torch.nn.Module | None = None
    lpips_plus_reference: str = "target"  # whose relu3 features weight LPIPS+'s spatial mean (docs/paired_losses.md)
    discriminators: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)  # config key lambdas: term -> weight (missing: 1)
    skip_zero_weight: bool = False  # config key skip_zero_weight_terms

    @property
    def spec(self) -> Stage:
        return STAGE_TABLE[self.stage]

    @property
    def terms(self) -> tuple[str, ...]:
        """The terms the step computes: the stage's, less those of weight 0 when they are skipped
        (a term of weight 0 adds nothing to the generator's update, under DLA or a plain sum)."""
        return tuple(t for t in self.spec.terms
                     if not (self.skip_zero_weight and float(self.weights.get(t, 1.0)) == 0.0))

    @property
    def active_discriminators(self) -> dict:
        """The discriminators whose adversarial term is computed; only these are run and updated."""
        return {name: d for name, d in self.discriminators.items() if f"adv_{name}" in self.terms}


def build_loss_kit(stage: str, cfg: dict, output_size: int, device: torch.device) -> LossKit:
    terms = STAGE_TABLE[stage].terms
    random_ok = cfg["allow_random_backbones"]
    reference = lpips_plus_reference(cfg["lpips_plus_reference"])  # a bad value fails before any network is built
    kit = LossKit(stage=stage, vgg=backbone_paths.content_network(cfg["vgg_source"], cfg["vgg_weights"], random_ok),
                  lpips_plus_reference=reference, weights=dict(cfg["lambdas"]),
                  skip_zero_weight=bool(cfg["skip_zero_weight_terms"]))
    if not kit.terms:
        raise ConfigError(f"every loss term of stage {stage} ({', '.join(terms)}) has weight 0 in lambdas: "
                          f"give one a weight above 0")
    if "lin0" in STAGE_TABLE[stage].discriminators:
        kit.texture = backbone_paths.texture_network(cfg["alexnet_weights"], random_ok, cfg["normalise_features"])
        probe = torch.zeros(1, 3, output_size, output_size)
        with torch.no_grad():
            map0, map3 = kit.texture(probe)
        for name, fmap in (("lin0", map0), ("lin3", map3)):
            kit.discriminators[name] = build_discriminator(
                "texture", in_channels=fmap.shape[1], feature_size=fmap.shape[-1],
                train_first_linear=cfg["train_first_linear"],
                first_linear_requires_grad=cfg["emulate_first_linear_residue"])
    if "color" in STAGE_TABLE[stage].discriminators:
        kit.color = backbone_paths.color_network(cfg["vit_model"], cfg["vit_weights"], random_ok,
                                            cfg["normalise_features"], cfg["vit_layer_norm_eps"])
        kit.discriminators["color"] = build_discriminator("color", token_dim=kit.color.token_dim)
    if "lpips_plus" in terms:
        kit.lpips_plus = backbone_paths.lpips_plus_loss(cfg["alexnet_weights"], cfg["lpips_weights"], random_ok)
        kit.dists = backbone_paths.dists_loss(cfg["vgg16_weights"], cfg["dists_weights"], random_ok)
    for name in ("vgg", "texture", "color", "lpips_plus", "dists"):
        module = getattr(kit, name)
        if module is not None:
            setattr(kit, name, module.to(device))
    kit.discriminators = {k: d.to(device) for k, d in kit.discriminators.items()}
    return kit


def lpips_plus_reference(value: str) -> str:
    if value not in LPIPS_PLUS_REFERENCES:
        raise ConfigError(f"lpips_plus_reference {value!r} is not one of {', '.join(LPIPS_PLUS_REFERENCES)}")
    return value


def real_features(kit: LossKit, target: torch.Tensor, cached: dict | None = None) -> dict:
    """Discriminator inputs of the real (DSLR) images; never differentiated. Taken from `cached`
    (training.feature_fill: computed once per image) when it holds them."""
    active = kit.active_discriminators
    cached = {name: v for name, v in (cached or {}).items() if name in active}
    feats = {}
    with torch.no_grad():
        feats.update(_features(kit, target, active.keys() - cached.keys()))
    return {**feats, **cached}


def fake_features(kit: LossKit, fake: torch.Tensor) -> dict:
    """Discriminator inputs of the generated images; one AlexNet pass serves both texture maps."""
    return _features(kit, fake, kit.active_discriminators.keys())


def _features(kit: LossKit, image: torch.Tensor, names) -> dict:
    """The named discriminator inputs of image; a network none of them needs is not run."""
    feats = {}
    if {"lin0", "lin3"} & set(names):
        feats["lin0"], feats["lin3"] = kit.texture(image)
    if "color" in names:
        feats["color"] = kit.color(image)
    return {k: v for k, v in feats.items() if k in names}


def content_term(kit: LossKit, fake: torch.Tensor, goal: torch.Tensor, space: str, cached: dict):
    """Content loss; the goal's VGG features come from the feature cache when the batch has them."""
    if "content" in cached:
        return losses.content_loss_to_features(kit.vgg, fake, cached["content"], space)
    return losses.content_loss(kit.vgg, fake, goal, space=space)


def generator_terms(kit: LossKit, fake: torch.Tensor, batch: dict, paired_content_space: str):
    """Every loss term of the stage, plus the feature maps the discriminator step reuses."""
    terms, cached, wanted = {}, batch.get("cached_features", {}), kit.terms
    goal_key, space = content_goal(kit.stage, paired_content_space)
    goal = batch[goal_key]
    if "content" in wanted:
        terms["content"] = content_term(kit, fake, goal, space, cached)
    if "mse" in wanted:
        terms["mse"] = losses.mse_loss(fake, goal)
    if "lpips_plus" in wanted:
        # LPIPSPlusLoss(x, reference): the reference's relu3 features weight the spatial mean
        terms["lpips_plus"] = (kit.lpips_plus(fake, goal) if kit.lpips_plus_reference == "target"
                               else kit.lpips_plus(goal, fake))
    if "dists" in wanted:
        terms["dists"] = kit.dists(fake, goal)
    if "color" in wanted:
        terms["color"] = losses.color_loss(fake, goal)
    if "color_dist" in wanted:  # against the matched photo, whatever the content goal
        terms["color_dist"] = losses.color_distribution_loss(fake, batch["target"])
    if "tv" in wanted:
        terms["tv"] = losses.tv_loss(fake)

    real, fakes = {}, {}
    if kit.active_discriminators:
        real = real_features(kit, batch["target"], cached)
        fakes = fake_features(kit, fake)
        for name, disc in kit.active_discriminators.items():
            # The release's G loss differentiates D(real) too; that reaches only the residue layer.
            with torch.set_grad_enabled(bool(residue_parameters(disc))):
                d_real = disc(real[name])
            terms[f"adv_{name}"] = losses.relativistic_g_loss(d_real, disc(fakes[name]))
    return {k: terms[k] for k in kit.terms}, real, {k: v.detach() for k, v in fakes.items()}


def residue_parameters(disc: torch.nn.Module) -> list:
    """The release's never-trained first linear layer of a texture discriminator, when its gradient
    residue is emulated (docs/method.md §3): it requires grad, no optimizer holds it, its .grad is never
    zeroed. Its .grad is the residue R."""
    fc1 = getattr(disc, "fc1", None)
    if fc1 is None or disc.train_first_linear or not fc1.weight.requires_grad:
        return []
    return [fc1.weight, fc1.bias]


def generator_gradients(terms: dict, params: list, grad_reduce, residue_inputs: dict, *, lambdas: dict,
                        dla: bool, dla_eps: float):
    """DLA (or a plain weighted sum) -> one gradient per parameter, with per-term scales and norms.

    residue_inputs: term -> residue parameters; their gradients come from the same pass, weighted as
    the release's backward passes add them: (1 + 2 s_i lambda_i) under DLA (the raw term once, the
    scaled term twice), lambda_i for a plain weighted sum (one backward of the total).
    lambdas: per-term weights (a missing term weighs 1); dla=False: a plain weighted sum (dla_eps unused).
    Returns (grads, scales, norms, residue increments term -> list aligned with residue_inputs[term])."""
    lambdas = {k: float(lambdas.get(k, 1.0)) for k in terms}
    if dla:
        grads, scales, norms, extra = losses.dla_gradients(
            terms, params, lambdas=lambdas, eps=dla_eps, grad_reduce=grad_reduce,
            extra_inputs=residue_inputs)
        factors = {k: 1.0 + 2.0 * scales[k] * lambdas[k] for k in extra}
        return grads, scales, norms, {k: [g * factors[k] for g in extra[k]] for k in extra}
    total = sum(lambdas[k] * v for k, v in terms.items())
    inputs = params + [p for term_inputs in residue_inputs.values() for p in term_inputs]
    found = torch.autograd.grad(total, inputs, allow_unused=True)
    found = grad_reduce([torch.zeros_like(p) if g is None else g for g, p in zip(found, inputs)])
    rest = iter(found[len(params):])  # each term's own layer: only that term reaches it
    increments = {k: [next(rest) for _ in term_inputs] for k, term_inputs in residue_inputs.items()}
    return found[:len(params)], {k: 1.0 for k in terms}, {}, increments


def add_residues(kit: LossKit, increments: dict) -> None:
    """Accumulate each texture term's increment into its discriminator's residue (.grad of fc1)."""
    for term, grads in increments.items():
        for param, grad in zip(residue_parameters(kit.discriminators[term.removeprefix("adv_")]), grads):
            param.grad = grad.detach().clone() if param.grad is None else param.grad.add_(grad)


def residue_inputs(kit: LossKit) -> dict:
    return {f"adv_{name}": params for name, disc in kit.active_discriminators.items()
            if (params := residue_parameters(disc))}


def is_discriminator_step(step: int, d_every: int) -> bool:
    """The release updates the discriminators after generator steps 1, 1 + d_every, ... (its step
    index carries a +99 offset); the phase matters once the residue is emulated."""
    return (step - 1) % d_every == 0


def discriminator_step(kit: LossKit, optimizers: dict, real: dict, fakes: dict, reduce_module_grads, *,
                       r1_gamma: float, penalty_scale: float, d_grad_clip: float) -> tuple[dict, dict]:
    """One update of every discriminator whose term is computed (kit.active_discriminators) on the same
    batch, fake features detached.

    The gradient-norm clip runs over every gradient of the discriminator, the emulated residue
    included, as the release's clip did. A discriminator whose loss is not finite is not updated.
    Returns (stats, non-finite losses name -> value)."""
    stats, bad = {}, {}
    for name, disc in kit.active_discriminators.items():
        loss, parts = losses.discriminator_step_loss(
            disc, real[name], fakes[name], gamma=r1_gamma, penalty_scale=penalty_scale)
        if not torch.isfinite(loss):
            bad[f"D_{name}"] = loss.item()
            continue
        optimizers[name].zero_grad(set_to_none=True)
        loss.backward()
        reduce_module_grads(disc)
        torch.nn.utils.clip_grad_norm_(disc.parameters(), d_grad_clip)
        optimizers[name].step()
        stats[f"D/{name}/loss"] = loss.item()
        stats.update({f"D/{name}/{k}": float(v) for k, v in parts.items()})
    return stats, bad
