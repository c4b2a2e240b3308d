"""Frozen-feature cache: a fit.py step with cached features equals the step that computes them."""
import numpy as np
import pytest
import torch

import fit
from data.features.feature_store import FeatureStore, image_key
from training.config_loader import load_config
from training.distributed import DistInfo
from training.monitor import Monitor
from training.sampling import make_loader


def _trainer(root, tmp_path, stage, **overrides):
    overrides = {k: repr(v) if isinstance(v, tuple) else v for k, v in overrides.items()}
    settings = dict(data_root=str(root), out_dir=str(tmp_path), allow_random_backbones=True,
                    vit_model="vit_tiny_patch16_224", batch_size=2, num_workers=0, cache_dir="", max_steps=3,
                    pretrain_steps=3, d_every=1, log_every=100, sample_every=100,
                    feature_cache_dir=str(tmp_path / "features"), **overrides)
    cfg = load_config("config.py", [f"{k}={v}" for k, v in settings.items()])
    return fit.Trainer(stage, cfg, tmp_path / stage, None, DistInfo(), torch.device("cpu"))


def _weights(trainer):
    weights = {f"G.{k}": v.clone() for k, v in trainer.generator.state_dict().items()}
    for name, disc in trainer.kit.discriminators.items():
        weights.update({f"D{name}.{k}": v.clone() for k, v in disc.state_dict().items()})
    return weights


def _one_step(trainer, tmp_path):
    """fit.py's own step on the loader's first batch: (logs, weights before, weights after, batch)."""
    loader = make_loader(trainer.dataset, trainer.cfg, 0, 1, 0, 1, pin_memory=False)
    batch = next(iter(loader))
    before = _weights(trainer)
    trainer.step = 1
    logs = trainer._train_step(batch, list(trainer.generator.parameters()), Monitor(tmp_path, False))
    return logs, before, _weights(trainer), batch


def _relative_gap(a, b):
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-12)


@pytest.fixture(scope="module")
def computed_step(tiny_fujifilm_root, tmp_path_factory):
    """The unpaired step without the cache: every feature computed by the extractors."""
    folder = tmp_path_factory.mktemp("plain")
    trainer = _trainer(tiny_fujifilm_root, folder, "unpaired", feature_cache=False)
    assert not hasattr(trainer.dataset, "stores")
    return _one_step(trainer, folder)


# float32: the README's "same training to float tolerance" (measured bit-identical on the 2-core CPU machine);
# float16: features rounded to 11 significant bits.
@pytest.mark.parametrize("dtype,features,tolerance", [
    ("float32", ("content", "color", "texture"), 1e-6), ("float16", ("content", "color", "texture"), 5e-3),
    ("float32", ("color",), 1e-6)])
def test_cached_step_equals_computed_step(dtype, features, tolerance, computed_step, tiny_fujifilm_root, tmp_path):
    cached = _trainer(tiny_fujifilm_root, tmp_path, "unpaired", feature_cache=True, feature_cache_dtype=dtype,
                      feature_cache_features=features)
    logs_plain, before, weights_plain, _ = computed_step
    logs_cached, before_cached, weights_cached, batch = _one_step(cached, tmp_path)
    names = {"content": {"content"}, "color": {"color"}, "texture": {"lin0", "lin3"}}
    assert set(batch["cached_features"]) == set().union(*(names[f] for f in features))
    logged = [k for k in logs_plain if k.startswith(("raw/", "D/"))]
    assert logged and set(logged) <= set(logs_cached)
    for key in logged:
        assert logs_cached[key] == pytest.approx(logs_plain[key], rel=tolerance, abs=1e-7), key
    for key, value in before.items():  # same start, so equal weights after the step = equal updates
        assert torch.equal(before_cached[key], value), key
        update_plain, update_cached = weights_plain[key] - value, weights_cached[key] - value
        if dtype == "float32":
            assert _relative_gap(update_cached, update_plain) < 10 * tolerance, key
        else:  # rounded features can flip the sign of a near-zero gradient, and Adam's first step is
            # about lr * sign(gradient): allow such flips on a small share of the weights
            flipped = (update_cached - update_plain).abs() > 0.1 * update_plain.abs().max()
            assert flipped.float().mean().item() < 0.05, key
    moved = [k for k in before if not torch.equal(weights_plain[k], before[k])]
    assert any(k.startswith("G.") for k in moved)  # the step trained the generator...
    assert any(k.startswith("Dcolor.") for k in moved)  # ...and the discriminators


def test_cache_is_off_with_random_crops(tiny_fujifilm_root, tmp_path):
    trainer = _trainer(tiny_fujifilm_root, tmp_path, "unpaired", feature_cache=True, patch_size=32)
    assert not hasattr(trainer.dataset, "stores")
    assert not (tmp_path / "features").exists()


def test_store_round_trip_and_keys(tmp_path):
    image = torch.rand(3, 8, 8)
    features = torch.randn(5, 7) * 100
    store = FeatureStore(tmp_path, "color", {"extractor": "abc"}, "float16")
    assert not store.has("x/12.png", image)
    store.save("x/12.png", image, features)
    assert store.has("x/12.png", image)
    loaded = store.load("x/12.png", image)
    assert loaded.dtype == torch.float32
    np.testing.assert_array_equal(loaded.numpy(), features.numpy().astype(np.float16).astype(np.float32))
    assert np.load(store.entry("x/12.png", image), mmap_mode="r").dtype == np.float16
    changed = image.clone()
    changed[0, 0, 0] += 1e-3  # another image (e.g. another resize or demosaic) -> another key
    assert image_key(changed) != image_key(image) and not store.has("x/12.png", changed)
    other_weights = FeatureStore(tmp_path, "color", {"extractor": "abd"}, "float16")
    assert other_weights.folder != store.folder
    assert not list(store.folder.glob("*.tmp"))
