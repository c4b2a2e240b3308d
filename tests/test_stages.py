"""training.stages.STAGE_TABLE against docs/method.md §5 (loss sets written out here) and the README."""
from pathlib import Path

from training.stages import STAGE_TABLE, stage_table_markdown

README = Path(__file__).resolve().parents[1] / "README.md"

# docs/method.md §5 "Loss sets", as sets (the table's order is the logging order, not a claim of the method).
METHOD_LOSS_SETS = {
    "pretrain": {"content", "mse", "tv"},
    "unpaired": {"content", "adv_color", "adv_lin0", "adv_lin3", "tv"},
    "paired": {"content", "lpips_plus", "dists", "tv", "color", "adv_lin0", "adv_lin3"},
}


def test_loss_sets_follow_the_spec():
    assert set(STAGE_TABLE) == {"pretrain", "unpaired", "paired", "paired_no_adv", "pseudo_paired"}
    for name, terms in METHOD_LOSS_SETS.items():
        assert set(STAGE_TABLE[name].terms) == terms, name
    without_adv = {t for t in METHOD_LOSS_SETS["paired"] if not t.startswith("adv_")}
    assert set(STAGE_TABLE["paired_no_adv"].terms) == without_adv


def test_what_each_stage_reads():
    # docs/method.md §5: pretraining and unpaired content compare with the demosaiced reference (unpaired in LAB L);
    # paired stages with the ground truth; only pretraining has its own step budget and starts from scratch.
    expected = {"pretrain": ("reference", True, True, "pretrain_steps", False),
                "unpaired": ("reference", True, False, "max_steps", True),
                "paired": ("target", False, True, "max_steps", True),
                "paired_no_adv": ("target", False, True, "max_steps", True),
                # docs/pairing.md: structure from the reference, colour from the matched (unaligned) photo
                "pseudo_paired": ("reference", True, False, "pseudo_paired_steps", True)}
    for name, (goal, reference, paired, budget, after_pretrain) in expected.items():
        spec = STAGE_TABLE[name]
        assert (spec.goal, spec.reads_reference, spec.paired, spec.step_budget_key,
                spec.starts_from_pretrain) == (goal, reference, paired, budget, after_pretrain), name
    assert STAGE_TABLE["unpaired"].content_space == "lab_l"
    # no pixel-aligned term compares with the matched photo, which shows another scene
    assert set(STAGE_TABLE["pseudo_paired"].terms) == {"content", "color_dist", "tv"}


def test_readme_shows_the_table():
    assert stage_table_markdown() in README.read_text(), "README stage table is stale: paste stage_table_markdown()"
