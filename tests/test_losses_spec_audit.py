"""Independent audit of losses/ and evaluation/metrics.py against docs/method.md §3, 4, 5 and 7.

Every expected value here is computed from docs/method.md with numpy / scipy / plain torch written in this
file (python loops, scipy.stats, hand-written correlations and resizes), never through the module under test.
"""
import math

import numpy as np
import pytest
import scipy.io
import scipy.signal
import skimage.color
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from evaluation import ms_ssim_tf, psnr, quantize_8bit, ssim_tf
from losses import (
    build_color_features,
    build_texture_features,
    build_vgg19_relu54,
    color_loss,
    content_loss,
    discriminator_step_loss,
    dla_gradients,
    dped_blur_kernel,
    gaussian_blur,
    gradient_penalty,
    mse_loss,
    read_matconvnet_convs,
    relativistic_d_loss,
    relativistic_g_loss,
    rgb_to_lab_l3,
    tv_loss,
)

pytestmark = pytest.mark.filterwarnings("ignore::losses.RandomWeightsWarning")


def _rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ----------------------------------------------------------------------------- docs/method.md §5: pixel losses

def test_tv_by_python_loops_on_non_square_batch():
    x = _rand(2, 3, 5, 7)
    a = x.numpy()
    per_image = []
    for b in range(2):
        v = [(a[b, c, i + 1, j] - a[b, c, i, j]) ** 2 for c in range(3) for i in range(4) for j in range(7)]
        h = [(a[b, c, i, j + 1] - a[b, c, i, j]) ** 2 for c in range(3) for i in range(5) for j in range(6)]
        per_image.append(sum(v) / len(v) + sum(h) / len(h))
    assert tv_loss(x).item() == pytest.approx(sum(per_image) / 2, rel=1e-12)
    assert mse_loss(x, x.flip(0)).item() == pytest.approx(float(np.mean((a - a[::-1]) ** 2)), rel=1e-12)


def _dped_kernel_by_erf(size=21, nsig=3.0):
    d = (2 * nsig + 1) / size
    points = [-nsig - d / 2 + i * (2 * nsig + d) / size for i in range(size + 1)]  # 22 points, both ends included
    cdf = [0.5 * (1 + math.erf(p / math.sqrt(2))) for p in points]
    k = np.diff(cdf)
    k2 = np.sqrt(np.outer(k, k))
    return k2 / k2.sum()


def test_dped_kernel_blur_and_color_loss_in_float64():
    expected = _dped_kernel_by_erf()
    np.testing.assert_allclose(dped_blur_kernel().double().numpy(), expected, rtol=1e-6, atol=1e-10)
    x, y = _rand(2, 3, 24, 30, seed=1), _rand(2, 3, 24, 30, seed=2)

    def blur(t):  # zero padding 10, depthwise cross-correlation (kernel is symmetric anyway)
        return np.stack([[scipy.signal.correlate2d(im[c], expected, mode="same", boundary="fill", fillvalue=0)
                          for c in range(3)] for im in t.numpy()])
    bx, by = blur(x), blur(y)
    np.testing.assert_allclose(gaussian_blur(x).numpy(), bx, rtol=0, atol=1e-12)
    assert color_loss(x, y).item() == pytest.approx(float(np.mean((bx - by) ** 2)), rel=1e-9)


def test_lab_l_against_skimage_including_out_of_range_values():
    x = _rand(2, 3, 16, 20, seed=3) * 1.4 - 0.2  # generator outputs may leave [0, 1] during training
    x[0, :, :2, :2] = 0.0
    x[0, :, 2:4, :2] = 0.03  # below the sRGB knee 0.04045
    l3 = rgb_to_lab_l3(x).numpy()
    for b in range(2):
        expected = skimage.color.rgb2lab(x[b].numpy().transpose(1, 2, 0))[..., 0] / 100.0
        for c in range(3):
            np.testing.assert_allclose(l3[b, c], expected, atol=1e-9)


# ----------------------------------------------------------------------------- docs/method.md §4: VGG-19 content

def _torchvision_vgg19_relu54(vgg):
    """torchvision's own VGG-19 'E' layer list (no classifier), cut at relu5_4, holding vgg's weights."""
    reference = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])[:36].double()
    reference.load_state_dict({k: v.double() for k, v in vgg.features.state_dict().items()})
    return reference


def _lab_l3_by_skimage(t):
    return torch.from_numpy(np.stack([skimage.color.rgb2lab(im.numpy().transpose(1, 2, 0))[..., 0] / 100.0
                                      for im in t]))[:, None].repeat(1, 3, 1, 1)


@pytest.mark.parametrize("source,space", [("matconvnet", "lab_l"), ("torchvision", "rgb")])
def test_vgg_relu54_preprocessing_and_content_loss(source, space):
    torch.manual_seed(0)
    if source == "matconvnet":
        def pre(t):
            return t * 255.0 - torch.tensor([123.68, 116.779, 103.939], dtype=t.dtype).view(1, 3, 1, 1)
    else:
        def pre(t):
            mean = torch.tensor([0.485, 0.456, 0.406], dtype=t.dtype).view(1, 3, 1, 1)
            return (t - mean) / torch.tensor([0.229, 0.224, 0.225], dtype=t.dtype).view(1, 3, 1, 1)
    vgg = build_vgg19_relu54(source, allow_random=True)
    assert len(vgg.features) == 36 and isinstance(vgg.features[35], nn.ReLU)
    assert vgg.features[34].out_channels == 512  # conv5_4 then relu5_4
    vgg = vgg.double()
    reference = _torchvision_vgg19_relu54(vgg)
    x, y = _rand(1, 3, 32, 32, seed=4), _rand(1, 3, 32, 32, seed=5)
    if space == "lab_l":  # unpaired: BOTH images as L/100 replicated to 3 channels
        x_in, y_in = _lab_l3_by_skimage(x), _lab_l3_by_skimage(y)
    else:
        x_in, y_in = x, y
    with torch.no_grad():
        expected = torch.mean((reference(pre(x_in)) - reference(pre(y_in))) ** 2).item()
    assert content_loss(vgg, x, y, space).item() == pytest.approx(expected, rel=1e-7)


def test_matconvnet_filters_are_rows_by_cols_cross_correlation(tmp_path):
    """vl_nnconv: y(i,j,d) = b(d) + sum_{h,w,c} f(h,w,c,d) x(i+h, j+w, c), h indexing image rows.
    A non-square, non-symmetric 3x5 filter bank (Cin 2, Cout 3) must give the same output in torch."""
    rng = np.random.default_rng(7)
    f = rng.standard_normal((3, 5, 2, 3)).astype(np.float32)
    b = rng.standard_normal((3, 1)).astype(np.float32)
    weights = np.empty((1, 2), dtype=object)
    weights[0, 0], weights[0, 1] = f, b
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = {"name": "convA", "type": "conv", "weights": weights}
    scipy.io.savemat(str(tmp_path / "tiny.mat"), {"layers": cell})
    weight, bias = read_matconvnet_convs(tmp_path / "tiny.mat")["convA"]
    assert weight.shape == (3, 2, 3, 5)
    x = rng.standard_normal((9, 11, 2))  # MATLAB image layout H x W x C
    expected = np.zeros((7, 7, 3))
    for i in range(7):
        for j in range(7):
            for d in range(3):
                expected[i, j, d] = b[d, 0] + sum(f[h, w, c, d] * x[i + h, j + w, c]
                                                  for h in range(3) for w in range(5) for c in range(2))
    got = F.conv2d(torch.from_numpy(x.transpose(2, 0, 1))[None], weight.double(), bias.double())[0]
    np.testing.assert_allclose(got.numpy().transpose(1, 2, 0), expected, atol=1e-5)


# ------------------------------------------------------------------ docs/method.md §3/4: AlexNet texture maps

def test_texture_maps_are_lpips_slices_of_grayscale_at_spec_sizes():
    torch.manual_seed(1)
    feats = build_texture_features(allow_random=True)
    alex = torchvision.models.alexnet(weights=None).features
    trunk = {k.split(".", 1)[1]: v for k, v in feats.slices.state_dict().items()}  # 'slice1.0.weight' -> '0.weight'
    assert sorted(trunk) == sorted(k for k in alex.state_dict() if int(k.split(".")[0]) < 10)
    alex.load_state_dict({**alex.state_dict(), **trunk})
    # slice1 = [0:2] conv1+relu, slice4 ends at [8:10] conv4+relu
    assert [len(s) for s in feats.slices.values()] == [2, 3, 3, 2]
    x = _rand(1, 3, 256, 256, seed=6).float()
    g = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    gray = torch.stack([g, g, g], dim=1)  # [0, 1], no LPIPS scaling (release)
    with torch.no_grad():
        map0, map3 = feats(x)
        expected0 = torch.relu(F.conv2d(gray, alex[0].weight, alex[0].bias, stride=4, padding=2))
        expected3 = alex[:10](gray)
    assert map0.shape == (1, 64, 63, 63) and map3.shape == (1, 256, 15, 15)
    torch.testing.assert_close(map0, expected0, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(map3, expected3, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- docs/method.md §4: ViT color tokens

def _bilinear_half_pixel(img, out_h, out_w):
    """Bilinear resize with half-pixel centres (align_corners=False, no antialias), edge-clamped; (C,H,W)."""
    c, h, w = img.shape

    def axis(n_in, n_out):
        src = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0)
        lo = np.minimum(np.floor(src).astype(int), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, src - lo
    r0, r1, fr = axis(h, out_h)
    c0, c1, fc = axis(w, out_w)
    top = img[:, r0][:, :, c0] * (1 - fc) + img[:, r0][:, :, c1] * fc
    bottom = img[:, r1][:, :, c0] * (1 - fc) + img[:, r1][:, :, c1] * fc
    return top * (1 - fr)[None, :, None] + bottom * fr[None, :, None]


def test_vit_base_tokens_blur_resize_final_norm_cls_dropped():
    torch.manual_seed(2)
    color = build_color_features(allow_random=True)  # timm vit_base_patch16_224
    assert color.token_dim == 768
    x = _rand(1, 3, 40, 56, seed=7)
    k = _dped_kernel_by_erf()
    blurred = np.stack([scipy.signal.correlate2d(x[0, c].numpy(), k, mode="same") for c in range(3)])
    resized = torch.from_numpy(_bilinear_half_pixel(blurred, 224, 224)).float()[None]
    vit = color.vit
    with torch.no_grad():
        tokens = color(x.float())
        h = vit.patch_embed(resized)
        h = torch.cat([vit.cls_token.expand(1, -1, -1), h], dim=1) + vit.pos_embed
        for block in vit.blocks:
            h = block(h)
        expected = vit.norm(h)[:, 1:]
    assert tokens.shape == (1, 196, 768)
    torch.testing.assert_close(tokens, expected, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- docs/method.md §5: adversarial

class SmallD(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 5 * 5, 1)

    def forward(self, x):
        return self.fc(torch.tanh(self.conv(x)).flatten(1))


def _per_sample_squared_grad_norms(d, feats):
    out = []
    for i in range(feats.shape[0]):
        xi = feats[i:i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(d(xi).sum(), xi)
        out.append(float((g ** 2).sum()))
    return np.array(out)


def test_relativistic_losses_and_r1_r2_by_per_sample_loops():
    torch.manual_seed(3)
    d = SmallD().double()
    real, fake = _rand(4, 3, 5, 5, seed=8), _rand(4, 3, 5, 5, seed=9)
    with torch.no_grad():
        dr, df = d(real).numpy().ravel(), d(fake).numpy().ravel()
    softplus = lambda t: np.log1p(np.exp(t))  # noqa: E731
    adv = np.mean(softplus(-(dr - df)))
    assert relativistic_d_loss(d(real), d(fake)).item() == pytest.approx(adv, rel=1e-12)
    assert relativistic_g_loss(d(real), d(fake)).item() == pytest.approx(np.mean(softplus(-(df - dr))), rel=1e-12)
    r1, r2 = _per_sample_squared_grad_norms(d, real).mean(), _per_sample_squared_grad_norms(d, fake).mean()
    assert gradient_penalty(d, real).item() == pytest.approx(r1, rel=1e-10)
    loss, parts = discriminator_step_loss(d, real, fake)  # gamma 10, x100: effective gamma/2 = 500
    assert loss.item() == pytest.approx(adv + 5.0 * 100.0 * (r1 + r2), rel=1e-10)
    assert parts["r1"].item() == pytest.approx(r1, rel=1e-10) and parts["r2"].item() == pytest.approx(r2, rel=1e-10)
    loss_paper, _ = discriminator_step_loss(d, real, fake, gamma=10.0, penalty_scale=1.0)
    assert loss_paper.item() == pytest.approx(adv + 5.0 * (r1 + r2), rel=1e-10)


# ----------------------------------------------------------------------------- docs/method.md §5: DLA

def test_dla_unequal_lambdas_norms_and_constant_scale_autograd():
    torch.manual_seed(4)
    gen = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.Conv2d(5, 3, 1)).double()
    params = list(gen.parameters())
    x, target = _rand(2, 3, 6, 6, seed=10), _rand(2, 3, 6, 6, seed=11)
    lambdas = {"mse": 0.5, "tv": 2.0, "color": 1.0}

    def terms():
        out = gen(x)
        return {"mse": mse_loss(out, target), "tv": tv_loss(out), "color": 7.0 * color_loss(out, target)}
    grads, scales, norms, _ = dla_gradients(terms(), params, lambdas)
    total_scaled = 0.0
    for name, lam in lambdas.items():
        g = torch.autograd.grad(terms()[name], params)
        n = math.sqrt(sum(float((gi ** 2).sum()) for gi in g))  # global L2 over all generator params
        s = 1.0 / (n + 1e-8)
        assert norms[name] == pytest.approx(n, rel=1e-10) and scales[name] == pytest.approx(s, rel=1e-10)
        assert math.sqrt(sum(float(((lam * s * gi) ** 2).sum()) for gi in g)) == pytest.approx(lam, rel=1e-6)
        total_scaled = total_scaled + lam * s * terms()[name]  # s is a python float: a constant
    expected = torch.autograd.grad(total_scaled, params)
    for got, exp in zip(grads, expected):
        torch.testing.assert_close(got, exp, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ docs/method.md §7: metrics (TF semantics)

W_MS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _tf_gauss(size=11, sigma=1.5):
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    logits = -0.5 * (coords[None, :] ** 2 + coords[:, None] ** 2) / sigma ** 2
    e = np.exp(logits - logits.max())
    return e / e.sum()  # TF takes a softmax over the flattened logits


def _valid_filter(a, k):
    windows = np.lib.stride_tricks.sliding_window_view(a, k.shape)
    return np.einsum("ijkl,kl->ij", windows, k)


def _tf_ssim_cs(a, b, max_val=1.0):
    k = _tf_gauss()
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    m0, m1 = _valid_filter(a, k), _valid_filter(b, k)
    lum = (2 * m0 * m1 + c1) / (m0 ** 2 + m1 ** 2 + c1)
    cs = (2 * _valid_filter(a * b, k) - 2 * m0 * m1 + c2) / (_valid_filter(a * a + b * b, k) - m0 ** 2 - m1 ** 2 + c2)
    return float(np.mean(lum * cs)), float(np.mean(cs))


def _tf_downscale(a):
    a = np.pad(a, ((0, a.shape[0] % 2), (0, a.shape[1] % 2)), mode="symmetric")  # TF do_pad, SYMMETRIC
    h, w = a.shape
    return a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # avg_pool 2x2 stride 2 VALID


def _tf_metrics(a, b):
    """(ssim, ms_ssim) of one (C, H, W) float64 pair, channel by channel, averaged over channels."""
    ssims, ms = [], []
    for c in range(a.shape[0]):
        x, y, mcs = a[c], b[c], []
        for scale in range(5):
            if scale:
                x, y = _tf_downscale(x), _tf_downscale(y)
            s, cs = _tf_ssim_cs(x, y)
            if scale == 0:
                ssims.append(s)
            mcs.append(max(cs, 0.0))
        values = mcs[:-1] + [max(s, 0.0)]
        ms.append(float(np.prod([v ** w for v, w in zip(values, W_MS)])))
    return float(np.mean(ssims)), float(np.mean(ms))


def test_psnr_ssim_ms_ssim_match_independent_tf_recipe_on_180x200():
    base = _rand(3, 3, 180, 200, seed=12)
    base = F.avg_pool2d(base, 5, 1, 2)  # spatial structure so every scale is informative
    noisy = (base + 0.08 * torch.randn(base.shape, generator=torch.Generator().manual_seed(13),
                                       dtype=torch.float64)).clamp(0, 1)
    noisy[2] = 1.0 - base[2]  # anti-correlated pair: negative cs, exercising TF's relu
    got_ssim, got_ms, got_psnr = ssim_tf(noisy, base), ms_ssim_tf(noisy, base), psnr(noisy, base)
    for i in range(3):
        a, b = noisy[i].numpy(), base[i].numpy()
        s, m = _tf_metrics(a, b)
        assert got_ssim[i].item() == pytest.approx(s, abs=1e-6)
        assert got_ms[i].item() == pytest.approx(m, abs=1e-6)
        assert got_psnr[i].item() == pytest.approx(20 * math.log10(1.0 / math.sqrt(np.mean((a - b) ** 2))), abs=1e-9)
    assert got_ms[2].item() == pytest.approx(_tf_metrics(noisy[2].numpy(), base[2].numpy())[1], abs=1e-9)


def test_quantize_8bit_is_clamp_round_to_255_levels():
    x = torch.cat([_rand(4000, seed=14) * 1.4 - 0.2, torch.tensor([0.0, 1.0, -3.0, 7.0], dtype=torch.float64)])
    expected = np.round(np.clip(x.numpy(), 0, 1) * 255.0) / 255.0
    got = quantize_8bit(x.view(1, 1, 1, -1), "round").view(-1).numpy() / 255.0
    ties = np.isclose(np.clip(x.numpy(), 0, 1) * 255.0 % 1.0, 0.5)  # np.round is half-to-even; PNG writers vary
    np.testing.assert_array_equal(got[~ties], expected[~ties])
    assert np.all(np.abs(got - expected) <= 1.0 / 255.0 + 1e-12)
