"""ViT color features (tiny ViT) and the pyiqa paired losses (LPIPS+, DISTS) with checked weight loading."""
import numpy as np
import pytest
import scipy.signal
import scipy.stats
import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file

from losses import WeightsMismatchError, build_color_features, build_dists, build_lpips_plus
from pretrained import MissingWeightsError
from training.backbone_paths import color_network

pytestmark = pytest.mark.filterwarnings("ignore::losses.RandomWeightsWarning")
TINY = "vit_tiny_patch16_224"


def _blur_np(x):
    d = 7.0 / 21
    k1 = np.diff(scipy.stats.norm.cdf(np.linspace(-3 - d / 2, 3 + d / 2, 22)))
    k = np.sqrt(np.outer(k1, k1))
    k /= k.sum()
    out = np.stack([[scipy.signal.correlate2d(im[c], k, mode="same") for c in range(3)] for im in x.double().numpy()])
    return torch.from_numpy(out).float()


@pytest.fixture(scope="module")
def tiny_vit():
    torch.manual_seed(0)
    return build_color_features(TINY, allow_random=True)


def test_color_features_pipeline_shape_and_frozen(tiny_vit):
    x = torch.rand(2, 3, 48, 48)
    tokens = tiny_vit(x)
    assert tokens.shape == (2, 196, 192) and tiny_vit.token_dim == 192
    resized = F.interpolate(_blur_np(x), size=(224, 224), mode="bilinear", align_corners=False)
    expected = tiny_vit.vit.forward_features(resized)[:, 1:]
    torch.testing.assert_close(tokens, expected, rtol=1e-4, atol=1e-4)
    assert all(not p.requires_grad for p in tiny_vit.parameters())
    tiny_vit.train()
    assert not any(m.training for m in tiny_vit.modules())
    x.requires_grad_(True)
    tiny_vit(x).sum().backward()  # gradients reach the image, not the ViT
    assert x.grad.abs().sum() > 0 and all(p.grad is None for p in tiny_vit.parameters())


def test_color_features_normalise_switch(tiny_vit):
    x = torch.rand(1, 3, 32, 32)
    normalised = build_color_features(TINY, allow_random=True, normalise=True)
    normalised.vit.load_state_dict(tiny_vit.vit.state_dict())
    resized = F.interpolate(_blur_np(x), size=(224, 224), mode="bilinear", align_corners=False)
    torch.testing.assert_close(normalised(x), tiny_vit.vit.forward_features((resized - 0.5) / 0.5)[:, 1:],
                               rtol=1e-4, atol=1e-4)


def test_color_features_weight_file_checked(tiny_vit, tmp_path):
    state = {k: v.clone() for k, v in tiny_vit.vit.state_dict().items()}
    state["head.weight"], state["head.bias"] = torch.zeros(1000, 192), torch.zeros(1000)
    save_file(state, str(tmp_path / "model.safetensors"))
    loaded = build_color_features(TINY, weights_path=tmp_path / "model.safetensors")
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(loaded(x), tiny_vit(x))
    del state["norm.weight"]
    torch.save(state, tmp_path / "truncated.pth")
    with pytest.raises(WeightsMismatchError, match="norm.weight"):
        build_color_features(TINY, weights_path=tmp_path / "truncated.pth")
    with pytest.raises(MissingWeightsError, match="weights_path"):
        color_network(TINY)


def _alexnet_file(tmp_path):
    torch.manual_seed(5)
    alexnet = torchvision.models.alexnet(weights=None)
    torch.save(alexnet.state_dict(), tmp_path / "alexnet-owt-7be5be79.pth")
    return alexnet


def _lpips_heads(chns=(64, 192, 384, 256, 256)):
    g = torch.Generator().manual_seed(6)
    return {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for k, c in enumerate(chns)}


def _lpips_plus_reference(alexnet, heads, x, ref):
    """LPIPS v0.1 with the '+' weighting, written from the definition."""
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    stops = (2, 5, 8, 10, 12)

    def maps(img):
        h, out, start = (2 * img - 1 - shift) / scale, [], 0
        for stop in stops:
            h = alexnet.features[start:stop](h)
            out.append(h)
            start = stop
        return out

    unit = lambda f: f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
    mx, mr = maps(x), maps(ref)
    total = 0
    for k in range(5):
        score = F.conv2d((unit(mx[k]) - unit(mr[k])) ** 2, heads[f"lin{k}.model.1.weight"])
        w = F.interpolate(mr[2], size=score.shape[2:], mode="bilinear", align_corners=False)
        total = total + (score * w).sum((1, 2, 3)) / w.sum((1, 2, 3))
    return total.mean()


def test_lpips_plus_matches_definition_and_checks_keys(tmp_path):
    alexnet = _alexnet_file(tmp_path)
    heads = _lpips_heads()
    torch.save(heads, tmp_path / "LPIPS_v0.1_alex-df73285e.pth")
    loss = build_lpips_plus(tmp_path / "alexnet-owt-7be5be79.pth", tmp_path / "LPIPS_v0.1_alex-df73285e.pth")
    g = torch.Generator().manual_seed(7)
    x, ref = torch.rand(2, 3, 64, 64, generator=g), torch.rand(2, 3, 64, 64, generator=g)
    with torch.no_grad():
        expected = _lpips_plus_reference(alexnet, heads, x, ref)
    assert loss(x, ref).item() == pytest.approx(expected.item(), rel=1e-4)
    assert loss(ref, ref).item() == pytest.approx(0.0, abs=1e-7)
    assert all(not p.requires_grad for p in loss.parameters())
    del heads["lin4.model.1.weight"]
    torch.save(heads, tmp_path / "short_heads.pth")
    with pytest.raises(WeightsMismatchError, match="lin4"):
        build_lpips_plus(tmp_path / "alexnet-owt-7be5be79.pth", tmp_path / "short_heads.pth")


def test_dists_loads_trunk_and_alpha_beta(tmp_path):
    from losses.vgg import VGG16_CFG, make_vgg_features
    torch.manual_seed(8)
    vgg16 = make_vgg_features(VGG16_CFG)
    torch.save({f"features.{k}": v for k, v in vgg16.state_dict().items()}, tmp_path / "vgg16-397923af.pth")
    alpha, beta = torch.rand(1, 1475, 1, 1), torch.rand(1, 1475, 1, 1)
    torch.save({"alpha": alpha, "beta": beta}, tmp_path / "DISTS_weights-f5e65c96.pth")
    loss = build_dists(tmp_path / "vgg16-397923af.pth", tmp_path / "DISTS_weights-f5e65c96.pth")
    torch.testing.assert_close(loss.net.alpha.data, alpha)
    torch.testing.assert_close(loss.net.stage5[-2].weight, vgg16[28].weight)  # conv5_3
    x, y = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    expected = _dists_reference(vgg16, alpha, beta, x, y)  # DISTS written out (Ding et al. 2020)
    assert loss(x, y).item() == pytest.approx(expected.mean().item(), rel=1e-4) and expected.shape[0] == 2
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-5)
    torch.save({"alpha": alpha}, tmp_path / "no_beta.pth")
    with pytest.raises(WeightsMismatchError, match="alpha, beta"):
        build_dists(tmp_path / "vgg16-397923af.pth", tmp_path / "no_beta.pth")


def _dists_reference(vgg16, alpha, beta, x, y):
    """Per-image DISTS in float64: VGG-16 stages (ImageNet-normalised input) with max pooling replaced by
    L2 pooling (Hann window [.5, 1, .5] outer product, stride 2, padding 1, sqrt(. + 1e-12)); the image
    itself is stage 0. Per channel, structure S1 = (2 mx my + c) / (mx^2 + my^2 + c) and texture
    S2 = (2 cov + c) / (vx + vy + c) over the spatial mean, c = 1e-6; weights alpha, beta divided by
    their joint sum; score = 1 - sum(alpha S1 + beta S2)."""
    stages = [(0, 2), (5, 7), (10, 12, 14), (17, 19, 21), (24, 26, 28)]  # torchvision conv indices
    window = torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64)
    window = torch.outer(window, window) / torch.outer(window, window).sum()
    mean = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).view(1, 3, 1, 1)

    def features(image):
        image = image.double()
        h, out = (image - mean) / std, [image]
        for k, convs in enumerate(stages):
            if k:
                c = h.shape[1]
                h = (F.conv2d(h ** 2, window.expand(c, 1, 3, 3), stride=2, padding=1, groups=c) + 1e-12).sqrt()
            for i in convs:
                h = F.relu(F.conv2d(h, vgg16[i].weight.double(), vgg16[i].bias.double(), padding=1))
            out.append(h)
        return out

    total = (alpha.sum() + beta.sum()).double()
    a, b = torch.split(alpha.double() / total, [3, 64, 128, 256, 512, 512], 1), \
        torch.split(beta.double() / total, [3, 64, 128, 256, 512, 512], 1)
    score, c = 0.0, 1e-6
    for k, (fx, fy) in enumerate(zip(features(x), features(y))):
        mx, my = fx.mean((2, 3), keepdim=True), fy.mean((2, 3), keepdim=True)
        vx, vy = ((fx - mx) ** 2).mean((2, 3), keepdim=True), ((fy - my) ** 2).mean((2, 3), keepdim=True)
        cov = (fx * fy).mean((2, 3), keepdim=True) - mx * my
        s1 = (2 * mx * my + c) / (mx ** 2 + my ** 2 + c)
        s2 = (2 * cov + c) / (vx + vy + c)
        score = score + (a[k] * s1 + b[k] * s2).sum((1, 2, 3))
    return 1 - score

def test_vit_layer_norm_epsilon_is_the_releases():
    """The release's Hugging Face ViT normalises with eps 1e-12 (timm's default is 1e-6): the final norm
    written out with 1e-12 must reproduce the tokens, and 1e-6 must not, on features of tiny variance."""
    import torch

    from losses import build_color_features
    torch.manual_seed(0)
    features = build_color_features("vit_tiny_patch16_224", allow_random=True)
    vit = features.vit
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        x = vit.blocks(vit.norm_pre(vit._pos_embed(vit.patch_embed(features.preprocess(image)))))
        x = x * 1e-5  # tiny variance: here the epsilon decides the result
        tokens = vit.norm(x)

        def layer_norm(t, eps):
            mean = t.mean(-1, keepdim=True)
            var = ((t - mean) ** 2).mean(-1, keepdim=True)
            return (t - mean) / torch.sqrt(var + eps) * vit.norm.weight + vit.norm.bias

        torch.testing.assert_close(tokens, layer_norm(x, 1e-12), rtol=1e-4, atol=1e-5)
        assert not torch.allclose(tokens, layer_norm(x, 1e-6), rtol=1e-2, atol=1e-2)
    assert {m.eps for m in vit.modules() if isinstance(m, torch.nn.LayerNorm)} == {1e-12}
