"""Paired LPIPS+ argument order (docs/paired_losses.md): the spatial mean is weighted by the *reference* image's
relu3 features, so (output, reference=target) and (target, reference=output) differ; config key
lpips_plus_reference picks one. Both orders are computed here from the network's trunk and heads with the
LPIPS v0.1 formula written out."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from training.config_loader import ConfigError, load_config
from training.stages import build_loss_kit, generator_terms

REPO = Path(__file__).resolve().parents[1]
SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)  # LPIPS v0.1's input scaling layer
SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


def _alexnet_maps(trunk, image):
    """The five AlexNet relu maps LPIPS compares, for an image in [0, 1] (relu3 is 5x5 at 96x96 input)."""
    h, maps = ((2 * image - 1) - SHIFT) / SCALE, []
    for index in range(1, 6):
        h = getattr(trunk, f"slice{index}")(h)
        maps.append(h)
    return maps


def _lpips_plus_by_hand(net, image, reference):
    """sum over layers of mean_w(head(|f(image) - f(reference)|^2 of unit-normalised features)), the mean weighted
    by the reference's relu3 map (all channels) resized bilinearly to each layer's size; batch mean."""
    maps_x, maps_ref = _alexnet_maps(net.net, image), _alexnet_maps(net.net, reference)
    total = 0
    for k, (fx, fr) in enumerate(zip(maps_x, maps_ref)):
        unit = [f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10) for f in (fx, fr)]
        score = F.conv2d((unit[0] - unit[1]) ** 2, net.lins[k].model[-1].weight)
        weight = F.interpolate(maps_ref[2], size=score.shape[2:], mode="bilinear", align_corners=False)
        total = total + (score * weight).sum((1, 2, 3)) / weight.sum((1, 2, 3))
    return total.mean()


@pytest.fixture(scope="module")
def kit():
    torch.manual_seed(0)
    cfg = load_config(REPO / "config.py", ["allow_random_backbones=True"])
    with pytest.warns(UserWarning):
        return build_loss_kit("paired_no_adv", cfg, 32, torch.device("cpu"))


def test_both_orders_are_the_lpips_plus_formula_and_differ(kit):
    torch.manual_seed(1)
    # target: flat dark left half, textured right half; output: the target plus texture on its left half, so
    # where the two images' relu3 features are large differs, and with it the weighting of the mean
    target = torch.full((2, 3, 96, 96), 0.1)
    target[..., 48:] = torch.rand(2, 3, 96, 48)
    output = target.clone()
    output[..., :48] = torch.rand(2, 3, 96, 48)
    expected = {"target": _lpips_plus_by_hand(kit.lpips_plus.net, output, target),
                "output": _lpips_plus_by_hand(kit.lpips_plus.net, target, output)}
    assert kit.lpips_plus_reference == "target"  # the default
    for reference in ("target", "output"):
        kit.lpips_plus_reference = reference
        terms, _, _ = generator_terms(kit, output, {"target": target}, "lab_l")
        assert terms["lpips_plus"].item() == pytest.approx(expected[reference].item(), rel=1e-5)
    kit.lpips_plus_reference = "target"
    assert abs(expected["target"] - expected["output"]) > 0.05 * abs(expected["target"])


def test_the_config_key_reaches_the_kit_and_a_bad_value_is_named():
    cfg = load_config(REPO / "config.py", ["allow_random_backbones=True", "lpips_plus_reference=output"])
    with pytest.warns(UserWarning):
        assert build_loss_kit("pretrain", cfg, 32, torch.device("cpu")).lpips_plus_reference == "output"
    with pytest.raises(ConfigError, match="lpips_plus_reference 'ground_truth' is not one of target, output"):
        build_loss_kit("paired_no_adv", dict(cfg, lpips_plus_reference="ground_truth"), 32, torch.device("cpu"))
