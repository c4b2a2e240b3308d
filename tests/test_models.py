"""Generators, discriminators and checkpoint loading (against the authors' published weights)."""

import pytest
import torch
import torch.nn.functional as F

from models import (
    GENERATORS,
    CheckpointError,
    build_discriminator,
    build_generator,
    generator_info,
    identify_backbone,
    load_generator,
)

EXPECTED_PARAMS = {"efficient_isp": 3060, "robust_isp": 1616, "rmfa_tiny": 29223}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name,count", sorted(EXPECTED_PARAMS.items()))
def test_parameter_counts(name, count):
    assert n_params(build_generator(name)) == count


def test_rmfa_variants_and_srcnn_sizes():
    # medium / large differ from tiny only by the number of blocks (13,010 params each).
    assert n_params(build_generator("rmfa_medium")) == 29223 + 6 * 13010
    assert n_params(build_generator("rmfa_large")) == 29223 + 18 * 13010
    assert len(build_generator("rmfa_large").rmfa_blocks) == 20
    assert 20_000 <= n_params(build_generator("srcnn")) <= 30_000


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_output_shapes_and_declared_io(name):
    info = generator_info(name)
    net = build_generator(name)
    assert (net.input_kind, net.output_scale) == (info["input_kind"], info["output_scale"])
    c_in = 4 if info["input_kind"] == "packed4" else 3
    x = torch.rand(2, c_in, 12, 18)
    y = net(x)
    assert y.shape == (2, 3, 12 * info["output_scale"], 18 * info["output_scale"])
    assert torch.isfinite(y).all()


def test_generator_info_values():
    assert generator_info("efficient_isp") == {"input_kind": "packed4", "output_scale": 2}
    assert generator_info("rmfa_tiny") == {"input_kind": "split3", "output_scale": 1}
    with pytest.raises(ValueError, match="unknown generator"):
        generator_info("resnet")


def test_rmfa_odd_sizes_keep_full_resolution():
    y = build_generator("rmfa_tiny")(torch.rand(1, 3, 13, 17))
    assert y.shape == (1, 3, 13, 17)


def test_every_reference_checkpoint_loads_strictly(reference_checkpoints):
    files = sorted(reference_checkpoints.rglob("*.pth"))
    assert len(files) == 13
    for path in files:
        backbone = "rmfa_tiny" if "RMFA" in path.name else "robust_isp" if "Robust" in path.name else "efficient_isp"
        net = load_generator(path, backbone)
        c_in = 4 if net.input_kind == "packed4" else 3
        with torch.no_grad():
            y = net(torch.rand(1, c_in, 16, 24))
        assert torch.isfinite(y).all(), path
        assert y.shape[-2:] == (16 * net.output_scale, 24 * net.output_scale)
        assert y.std() > 0, path  # trained weights do not give a constant image


def test_efficient_isp_equals_plain_functional_chain(checkpoint_cache):
    path = next(checkpoint_cache.rglob("Efficient_ISP_paired_step_37580.pth"))
    sd = torch.load(path, map_location="cpu", weights_only=True)
    x = torch.rand(1, 4, 20, 28, generator=torch.Generator().manual_seed(0))
    h = torch.tanh(F.conv2d(x, sd["conv1.weight"], sd["conv1.bias"], padding=1))
    h = torch.relu(F.conv2d(h, sd["conv2.weight"], sd["conv2.bias"], padding=1))
    h = torch.relu(F.conv2d(h, sd["conv3.weight"], sd["conv3.bias"], padding=1))
    expected = F.pixel_shuffle(h, 2)
    with torch.no_grad():
        got = load_generator(path, "efficient_isp")(x)
    assert torch.allclose(got, expected, atol=1e-6)
    # Pixel shuffle places channel 4c + 2i + j at (2y + i, 2x + j) of colour c.
    assert torch.equal(got[0, 1, 3::2, 0::2], h[0, 6, 1:, :])


def test_full_training_state_and_ddp_prefix_accepted(tmp_path, checkpoint_cache):
    sd = torch.load(next(checkpoint_cache.rglob("Robust_unpaired_step_66090.pth")), map_location="cpu",
                    weights_only=True)
    torch.save({"generator": sd, "step": 5, "config": {"backbone": "robust_isp"}}, tmp_path / "last.pth")
    torch.save({"module." + k: v for k, v in sd.items()}, tmp_path / "ddp.pth")
    for f in ("last.pth", "ddp.pth"):
        net = load_generator(tmp_path / f, "robust_isp")
        assert torch.equal(net.conv2.weight, sd["conv2.weight"])


def test_wrong_backbone_names_expected_and_found(checkpoint_cache):
    path = next(checkpoint_cache.rglob("RMFA_TINY_paired_step_31690.pth"))
    with pytest.raises(CheckpointError) as err:
        load_generator(path, "efficient_isp")
    msg = str(err.value)
    assert "'efficient_isp'" in msg and "'rmfa_tiny'" in msg and "RMFA_TINY" in msg
    assert msg.count("\n") == 0  # one line, not a wall of missing keys


def test_truncated_and_non_state_dict_files(tmp_path, checkpoint_cache):
    data = next(checkpoint_cache.rglob("Efficient_ISP_unpaired_step_30750.pth")).read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_generator(tmp_path / "cut.pth", "efficient_isp")
    torch.save(build_generator("efficient_isp"), tmp_path / "module.pth")  # whole nn.Module pickled
    with pytest.raises(CheckpointError, match="not a plain state_dict"):
        load_generator(tmp_path / "module.pth", "efficient_isp")
    torch.save([torch.zeros(3)], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="found list"):
        load_generator(tmp_path / "list.pth", "efficient_isp")
    torch.save({"conv1.weight": torch.zeros(2, 2)}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match="unrecognised state_dict"):
        load_generator(tmp_path / "odd.pth", "efficient_isp")
    with pytest.raises(FileNotFoundError):
        load_generator(tmp_path / "missing.pth", "efficient_isp")


def test_identify_backbone_on_fresh_models():
    for name in GENERATORS:
        assert identify_backbone(build_generator(name).state_dict()) == name


def test_texture_discriminator_shapes_for_256_patches():
    d0 = build_discriminator("texture", in_channels=64, feature_size=63)
    d3 = build_discriminator("texture", in_channels=256, feature_size=15)
    assert d0(torch.rand(2, 64, 63, 63)).shape == (2, 1)
    assert d3(torch.rand(2, 256, 15, 15)).shape == (2, 1)
    # conv stack 63 -> 32 -> 16 -> 16 -> 16 -> 8 and 15 -> 8 -> 4 -> 4 -> 4 -> 2, 128 channels.
    assert d0.fc1.in_features == 128 * 8 * 8 and d3.fc1.in_features == 128 * 2 * 2
    with pytest.raises(ValueError, match="63"):
        d0(torch.rand(1, 64, 32, 32))


def test_texture_discriminator_first_linear_switch():
    trained = build_discriminator("texture", in_channels=64, feature_size=63, train_first_linear=True)
    release = build_discriminator("texture", in_channels=64, feature_size=63)  # the default is the release's
    no_residue = build_discriminator("texture", in_channels=64, feature_size=63, first_linear_requires_grad=False)
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    assert ids(trained.trained_parameters()) == ids(trained.parameters())
    # Release: fc1 is outside what the optimizer updates, but autograd still reaches it.
    assert ids(release.trained_parameters()) == ids(release.parameters()) - ids(release.fc1.parameters())
    assert release.fc1.weight.requires_grad and release.fc1.bias.requires_grad
    assert [n for n, p in no_residue.named_parameters() if not p.requires_grad] == ["fc1.weight", "fc1.bias"]
    opt = torch.optim.Adam(trained.trained_parameters())
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == n_params(trained)
    out = trained(torch.rand(2, 64, 63, 63)).sum()
    out.backward()
    assert trained.fc1.weight.grad is not None and trained.fc1.weight.grad.abs().sum() > 0


def test_color_discriminator_mean_over_tokens():
    d = build_discriminator("color", token_dim=768)
    tokens = torch.rand(2, 196, 768)
    out = d(tokens)
    assert out.shape == (2, 1)
    per_token = d.mlp(tokens)  # (2, 196, 1)
    assert torch.allclose(out, per_token.mean(dim=1), atol=1e-6)
    assert [m.out_features for m in d.mlp if isinstance(m, torch.nn.Linear)] == [512, 512, 1]
    with pytest.raises(ValueError):
        build_discriminator("patchgan")


def _rmfa_reference(sd, x, n_blocks=2):
    """RMFA-Net tiny written out from docs/method.md §2 with plain functional calls on the checkpoint tensors."""
    def conv(h, key, bias=True):
        w = sd[key + ".weight"]
        return F.conv2d(h, w, sd[key + ".bias"] if bias else None, padding=w.shape[-1] // 2)

    def up(h, size):
        return F.interpolate(h, size=size, mode="bilinear", align_corners=False)

    h = torch.tanh(conv(conv(x, "input_module.0"), "input_module.1"))
    for i in range(n_blocks):
        p = f"rmfa_blocks.{i}."
        texture = torch.cat([F.relu(conv(h, p + "texture_module.high_freq.0")),
                             F.relu(conv(h, p + "texture_module.low_freq.0"))], 1)
        l1 = F.relu(conv(F.avg_pool2d(h, 2), p + "tone_mapping.level1.1"))
        l2 = F.relu(conv(F.avg_pool2d(l1, 2), p + "tone_mapping.level2.1"))
        l3 = F.relu(conv(l2, p + "tone_mapping.level3.0"))
        tone = h - up(l1 + up(l3, l1.shape[-2:]), h.shape[-2:])
        fused = F.relu(conv(torch.cat([texture, tone], 1), p + "fusion.0"))
        fc = lambda v, p=p: conv(F.relu(conv(v, p + "channel_attention.fc.0", False)),  # noqa: E731
                                 p + "channel_attention.fc.2", False)
        ca = torch.sigmoid(fc(fused.mean((2, 3), keepdim=True)) + fc(fused.amax((2, 3), keepdim=True))) * fused
        stats = torch.cat([ca.mean(1, keepdim=True), ca.amax(1, keepdim=True)], 1)
        h = torch.sigmoid(conv(stats, p + "spatial_attention.conv", False)) * ca + h
    return torch.sigmoid(conv(h, "output_module.0"))


@pytest.mark.parametrize("size", [(24, 32), (13, 19)])
def test_rmfa_tiny_equals_spec_written_out(checkpoint_cache, size):
    path = next(checkpoint_cache.rglob("RMFA_TINY_paired_step_31690.pth"))
    sd = torch.load(path, map_location="cpu", weights_only=True)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = load_generator(path, "rmfa_tiny")(x)
    assert torch.allclose(got, _rmfa_reference(sd, x), atol=1e-6)
