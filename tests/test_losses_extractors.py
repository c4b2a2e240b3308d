"""Frozen feature extractors: shapes, preprocessing, weight loading (fake files of the real formats)."""
import numpy as np
import pytest
import scipy.io
import skimage.color
import torch
import torch.nn.functional as F
import torchvision

from losses import RandomWeightsWarning, WeightsMismatchError, build_texture_features, build_vgg19_relu54, content_loss
from losses.vgg import RELU5_4_END, VGG19_CFG, VGG19_CONV_NAMES, make_vgg_features

pytestmark = pytest.mark.filterwarnings("ignore::losses.RandomWeightsWarning")
MEAN_MCN = np.array([123.68, 116.779, 103.939])


@pytest.fixture(scope="module")
def random_vgg():
    torch.manual_seed(0)
    return build_vgg19_relu54("torchvision", allow_random=True)


def assert_frozen(module):
    assert all(not p.requires_grad for p in module.parameters())
    module.train()
    assert not module.training and not any(m.training for m in module.modules())


def test_vgg_shapes_frozen_and_random_warning(random_vgg, caplog):
    assert random_vgg(torch.rand(2, 3, 32, 48)).shape == (2, 512, 2, 3)
    assert_frozen(random_vgg)
    with pytest.warns(RandomWeightsWarning, match="RANDOM WEIGHTS"):
        build_vgg19_relu54("matconvnet", allow_random=True)
    assert any("RANDOM WEIGHTS" in r.getMessage() for r in caplog.records)


def test_vgg_torchvision_file_and_imagenet_preprocessing(tmp_path):
    torch.manual_seed(1)
    reference = make_vgg_features(VGG19_CFG)
    state = {f"features.{k}": v for k, v in reference.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 4)  # extra head keys are expected in the real file
    path = tmp_path / "vgg19.pth"
    torch.save(state, path)
    vgg = build_vgg19_relu54("torchvision", weights_path=path)
    x = torch.rand(1, 3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(vgg(x), reference[:RELU5_4_END]((x - mean) / std))
    assert isinstance(reference[RELU5_4_END - 1], torch.nn.ReLU) and reference[RELU5_4_END - 2].out_channels == 512
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), tmp_path / "wrong.pth")
    with pytest.raises(WeightsMismatchError, match="wrong.pth"):
        build_vgg19_relu54("torchvision", weights_path=tmp_path / "wrong.pth")


def _fake_matconvnet_vgg19(path, rng):
    """A .mat with the real SimpleNN structure: 'layers' cell array of structs (name, type, weights...)."""
    layers, convs, cin = [], {}, 3
    names = iter(VGG19_CONV_NAMES)
    for item in VGG19_CFG:
        if item == "M":
            layers.append({"name": f"pool{len(layers)}", "type": "pool", "method": "max", "pool": np.array([2., 2.]),
                           "stride": np.array([2., 2.]), "pad": np.zeros(4)})
            continue
        name = next(names)
        w = (rng.standard_normal((3, 3, cin, item)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32)
        b = (0.01 * rng.standard_normal((item, 1))).astype(np.float32)
        weights = np.empty((1, 2), dtype=object)
        weights[0, 0], weights[0, 1] = w, b
        layers.append({"name": name, "type": "conv", "weights": weights, "size": np.array(w.shape, float),
                       "pad": np.ones(4), "stride": np.ones(2)})
        layers.append({"name": "relu" + name[4:], "type": "relu"})
        convs[name], cin = (w, b), item
    fc = np.empty((1, 2), dtype=object)
    fc[0, 0], fc[0, 1] = np.zeros((1, 1, 512, 2), np.float32), np.zeros((2, 1), np.float32)
    layers.append({"name": "fc6", "type": "conv", "weights": fc, "size": np.array([1., 1., 512., 2.]),
                   "pad": np.zeros(4), "stride": np.ones(2)})
    cell = np.empty((1, len(layers)), dtype=object)
    for i, layer in enumerate(layers):
        cell[0, i] = layer
    scipy.io.savemat(str(path), {"layers": cell, "meta": {"inputs": "fake"}})
    return convs


def test_matconvnet_loader_layout_and_preprocessing(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "imagenet-vgg-verydeep-19.mat"
    convs = _fake_matconvnet_vgg19(path, rng)
    vgg = build_vgg19_relu54("matconvnet", weights_path=path)
    assert_frozen(vgg)
    x = torch.rand(1, 3, 12, 12, dtype=torch.float64)
    # conv1_1 + relu computed directly in MatConvNet layout (H x W x Cin x Cout) on x*255 - mean
    w, b = convs["conv1_1"]
    img = np.pad(x[0].numpy().transpose(1, 2, 0) * 255.0 - MEAN_MCN, ((1, 1), (1, 1), (0, 0)))
    expected = np.zeros((12, 12, 64))
    for i in range(3):
        for j in range(3):
            expected += np.einsum("hwc,cd->hwd", img[i:i + 12, j:j + 12], w[i, j].astype(np.float64))
    expected = np.maximum(expected + b[:, 0], 0).transpose(2, 0, 1)
    got = vgg.features[:2](vgg.preprocess(x.float())).double()[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)
    w54, b54 = convs["conv5_4"]
    np.testing.assert_array_equal(vgg.features[34].weight.numpy(), w54.transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(vgg.features[34].bias.numpy(), b54[:, 0])


def test_matconvnet_loader_rejects_incomplete_file(tmp_path):
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = {"name": "conv1_1", "type": "conv", "weights": np.empty((1, 2), dtype=object)}
    cell[0, 0]["weights"][0, 0] = np.zeros((3, 3, 3, 64), np.float32)
    cell[0, 0]["weights"][0, 1] = np.zeros((64, 1), np.float32)
    scipy.io.savemat(str(tmp_path / "short.mat"), {"layers": cell})
    with pytest.raises(WeightsMismatchError, match="conv1_2"):
        build_vgg19_relu54("matconvnet", weights_path=tmp_path / "short.mat")
    scipy.io.savemat(str(tmp_path / "other.mat"), {"x": np.zeros(3)})
    with pytest.raises(WeightsMismatchError, match="layers"):
        build_vgg19_relu54("matconvnet", weights_path=tmp_path / "other.mat")


def test_builders_without_a_file_name_the_missing_argument():
    from losses import build_dists, build_lpips_plus
    with pytest.raises(ValueError, match="build_vgg19_relu54: weights_path is None"):
        build_vgg19_relu54("torchvision")
    with pytest.raises(ValueError, match="build_texture_features: weights_path is None"):
        build_texture_features()
    with pytest.raises(ValueError, match="lpips_path is None"):
        build_lpips_plus(alexnet_path="alexnet.pth")
    with pytest.raises(ValueError, match="build_dists: vgg16_path is None"):
        build_dists()


def test_content_loss_lab_l_and_rgb(random_vgg):
    g = torch.Generator().manual_seed(2)
    x, y = torch.rand(2, 3, 32, 32, generator=g), torch.rand(2, 3, 32, 32, generator=g)
    lab = [torch.from_numpy(np.stack([skimage.color.rgb2lab(im.permute(1, 2, 0).double().numpy())[..., 0] / 100.0
                                      for im in t])).float().unsqueeze(1).repeat(1, 3, 1, 1) for t in (x, y)]
    expected_l = F.mse_loss(random_vgg(lab[0]), random_vgg(lab[1]))
    assert content_loss(random_vgg, x, y, "lab_l").item() == pytest.approx(expected_l.item(), rel=1e-3)
    expected_rgb = F.mse_loss(random_vgg(x), random_vgg(y))
    assert content_loss(random_vgg, x, y, "rgb").item() == pytest.approx(expected_rgb.item(), rel=1e-5)
    x.requires_grad_(True), y.requires_grad_(True)
    content_loss(random_vgg, x, y).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and y.grad is None
    with pytest.raises(ValueError, match="space"):
        content_loss(random_vgg, x, y, "hsv")


def _gray_np(x):
    g = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return torch.stack([g, g, g], dim=1)


def test_texture_features_from_torchvision_alexnet_file(tmp_path):
    torch.manual_seed(3)
    alexnet = torchvision.models.alexnet(weights=None)
    torch.save(alexnet.state_dict(), tmp_path / "alexnet-owt-7be5be79.pth")
    feats = build_texture_features(weights_path=tmp_path / "alexnet-owt-7be5be79.pth")
    assert_frozen(feats)
    x = torch.rand(2, 3, 64, 64)
    map0, map3 = feats(x)
    gray = _gray_np(x)
    torch.testing.assert_close(map0, alexnet.features[:2](gray))
    torch.testing.assert_close(map3, alexnet.features[:10](gray))
    # LPIPS switch: inputs to [-1, 1] then LPIPS's scaling layer
    lpips_feats = build_texture_features(weights_path=tmp_path / "alexnet-owt-7be5be79.pth", normalise=True)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    torch.testing.assert_close(lpips_feats(x)[0], alexnet.features[:2]((2 * gray - 1 - shift) / scale))


def test_texture_features_lpips_layout_and_wrong_file(tmp_path):
    torch.manual_seed(4)
    alexnet = torchvision.models.alexnet(weights=None)
    slices = ((1, range(0, 2)), (2, range(2, 5)), (3, range(5, 8)), (4, range(8, 10)), (5, range(10, 12)))
    lpips_state = {f"net.slice{k}.{i}.{p}": alexnet.features[i].state_dict()[p]
                   for k, idx in slices for i in idx if hasattr(alexnet.features[i], "weight")
                   for p in ("weight", "bias")}
    lpips_state["lin0.model.1.weight"] = torch.zeros(1, 64, 1, 1)
    torch.save(lpips_state, tmp_path / "lpips_with_trunk.pth")
    feats = build_texture_features(weights_path=tmp_path / "lpips_with_trunk.pth")
    x = torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(feats(x)[1], alexnet.features[:10](_gray_np(x)))
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, tmp_path / "heads_only.pth")
    with pytest.raises(WeightsMismatchError, match="no AlexNet trunk"):
        build_texture_features(weights_path=tmp_path / "heads_only.pth")
    bad = dict(alexnet.state_dict())
    bad["features.3.weight"] = torch.zeros(10, 64, 5, 5)
    torch.save(bad, tmp_path / "bad_shape.pth")
    with pytest.raises(WeightsMismatchError, match="wrong shapes"):
        build_texture_features(weights_path=tmp_path / "bad_shape.pth")


def test_texture_feature_sizes_match_spec_at_256():
    map0, map3 = build_texture_features(allow_random=True)(torch.rand(1, 3, 256, 256))
    assert map0.shape == (1, 64, 63, 63) and map3.shape == (1, 256, 15, 15)


# --- random stand-ins keep unit scale (demo and tests run on them) ------------------------------------

def _photos(size=128):
    """Two natural photos (scikit-image's astronaut and chelsea) as (2, 3, size, size) in [0, 1]."""
    import skimage.data
    import skimage.transform
    images = [skimage.transform.resize(getattr(skimage.data, n)(), (size, size), anti_aliasing=True)
              for n in ("astronaut", "chelsea")]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()


# PyTorch's default init leaves VGG-19's relu5_4 near 5e-3 (and only the biases: both photos give the same
# features) and AlexNet's relu4 near 2e-2; scale-preserving init keeps every output between these bounds.
UNIT_SCALE = (0.25, 4.0)


def _assert_unit_scale_and_image_dependent(features):
    """Output std within UNIT_SCALE, and the two photos' features differ by a sizeable fraction."""
    std = features.std().item()
    assert UNIT_SCALE[0] < std < UNIT_SCALE[1], std
    a, b = features[0], features[1]
    assert ((a - b).norm() / a.norm()).item() > 0.2


@pytest.mark.parametrize("source", ["matconvnet", "torchvision"])
def test_random_vgg_keeps_unit_scale_at_relu5_4(source):
    torch.manual_seed(0)
    vgg = build_vgg19_relu54(source, allow_random=True)
    photos = _photos()
    with torch.no_grad():
        _assert_unit_scale_and_image_dependent(vgg(photos))
        # the unpaired content loss feeds the L channel: same scale there
        from losses.pixel import rgb_to_lab_l3
        _assert_unit_scale_and_image_dependent(vgg(rgb_to_lab_l3(photos)))


@pytest.mark.parametrize("normalise", [False, True])
def test_random_alexnet_keeps_unit_scale_at_maps_0_and_3(normalise):
    torch.manual_seed(0)
    texture = build_texture_features(allow_random=True, normalise=normalise)
    with torch.no_grad():
        for features in texture(_photos()):
            _assert_unit_scale_and_image_dependent(features)


def test_random_vit_tokens_keep_unit_scale():
    from losses import build_color_features
    torch.manual_seed(0)
    color = build_color_features("vit_tiny_patch16_224", allow_random=True)
    with torch.no_grad():
        _assert_unit_scale_and_image_dependent(color(_photos(64)))


def test_random_vgg_content_loss_gradient_outweighs_dla_eps():
    """The content term must reach the generator under DLA: its gradient far above eps = 1e-8."""
    torch.manual_seed(0)
    vgg = build_vgg19_relu54("matconvnet", allow_random=True)
    photos = _photos(64)
    fake = (photos[:1] * 0.8 + 0.1).requires_grad_(True)  # a duller version of the reference
    (grad,) = torch.autograd.grad(content_loss(vgg, fake, photos[:1]), fake)
    assert grad.norm().item() > 1e-4
