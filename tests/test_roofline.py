"""bench.bench_roofline's FLOP count against a hand count of the Efficient ISP, and its matmul peak."""
import torch

from bench.bench_roofline import count_flops, matmul_peak
from models import build_generator


def test_flop_count_of_efficient_isp_matches_a_hand_count():
    batch, h, w = 2, 10, 14  # packed Bayer input: 4 x h x w -> RGB 2h x 2w
    net = build_generator("efficient_isp")
    raw = torch.rand(batch, 4, h, w)
    # Three 3x3 convs (padding 1, so every one keeps h x w): 4 -> 12, 12 -> 12, 12 -> 12. A conv is
    # 2 flop per multiply-add, B h w C_out C_in 3 3 of them; bias adds, tanh, ReLU and the pixel shuffle
    # are not multiply-adds and are not counted (bias adds would be 1/(18 C_in) of each conv's).
    convs = [(4, 12), (12, 12), (12, 12)]
    per_conv = [2 * batch * h * w * c_out * c_in * 9 for c_in, c_out in convs]
    assert per_conv[0] == 2 * 2 * 10 * 14 * 12 * 4 * 9
    assert count_flops(lambda: net(raw)) == sum(per_conv)
    # Backward: every conv's weight gradient costs its forward again; input gradients for convs 2 and 3
    # only (the RAW input does not require grad).
    expected_backward = sum(per_conv) + per_conv[1] + per_conv[2]
    assert count_flops(lambda: net(raw).sum().backward()) == sum(per_conv) + expected_backward


def test_matmul_peak_is_a_rate():
    n = 128
    peak = matmul_peak(n, repeats=2)
    a, b = torch.randn(n, n), torch.randn(n, n)
    assert count_flops(lambda: torch.matmul(a, b)) == 2 * n**3  # the figure the peak divides
    assert 1e7 < peak < 1e14  # flop/s: above 10 MFLOP/s, below any CPU's float32 rate


def test_cpu_attention_and_double_backward_are_counted():
    import torch.nn.functional as F
    batch, heads, tokens, dim = 2, 3, 16, 8
    q, k, v = (torch.randn(batch, heads, tokens, dim) for _ in range(3))
    # Q K^T and (softmax) V: two matmuls of B H N N D multiply-adds each.
    assert count_flops(lambda: F.scaled_dot_product_attention(q, k, v)) == 2 * (2 * batch * heads * tokens**2 * dim)
    # The R1 penalty's double backward runs under the counter (no module hooks in the way).
    layer, x = torch.nn.Linear(5, 1), torch.randn(4, 5, requires_grad=True)

    def penalty():
        (grad,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
        grad.pow(2).sum().backward()
    assert count_flops(penalty) > 0
