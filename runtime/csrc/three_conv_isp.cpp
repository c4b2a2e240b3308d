// Fused fp32 AVX2/FMA kernel for the Efficient ISP family at width 12:
// conv3x3(4->12) tanh -> conv3x3(12->12) ReLU -> conv3x3(12->12) ReLU -> pixel_shuffle(2).
// Row-streaming: each thread walks a band of rows keeping 3-row ring buffers per layer (a few hundred KB,
// L2-resident), so no full-frame intermediate ever touches DRAM. Two row-conv algorithms: direct (run_band) and
// Winograd F(2,3)/F(4,3) along each row (run_band_wino, rings hold transformed rows); both match PyTorch to ~1e-7
// at default init (fp32 round-off and the tanh approximation).
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <immintrin.h>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace {

constexpr int kC = 12;  // channels of every conv output

// tanh from Lambert's continued fraction tanh y = y / (1 + y^2 / (3 + y^2 / (5 + ...))) cut after the
// term 15 (numerator 2027025 + 270270 s + 6930 s^2 + 36 s^3, denominator 2027025 + 945945 s + 51975 s^2
// + 630 s^3 + s^4, s = y^2), taken at y = x/2 where it is accurate and doubled with
// tanh 2y = 2 tanh y / (1 + tanh^2 y); both divisions folded into one reciprocal estimate + Newton step.
// |x| is clamped at 9 (tanh 9 = 1 - 3e-8). Max abs error vs torch.tanh ~3e-7.
inline __m256 tanh_avx2(__m256 x) {
  const __m256 bound = _mm256_set1_ps(9.0f);
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_sub_ps(_mm256_setzero_ps(), bound)), bound);
  const __m256 y = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
  const __m256 s = _mm256_mul_ps(y, y);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(36.0f), s, _mm256_set1_ps(6930.0f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(270270.0f));
  p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(2027025.0f));
  __m256 q = _mm256_add_ps(s, _mm256_set1_ps(630.0f));
  q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(51975.0f));
  q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(945945.0f));
  q = _mm256_fmadd_ps(q, s, _mm256_set1_ps(2027025.0f));
  const __m256 yp = _mm256_mul_ps(y, p);
  const __m256 num = _mm256_mul_ps(_mm256_add_ps(yp, yp), q);
  const __m256 den = _mm256_fmadd_ps(q, q, _mm256_mul_ps(yp, yp));
  __m256 inv = _mm256_rcp_ps(den);
  inv = _mm256_mul_ps(inv, _mm256_fnmadd_ps(den, inv, _mm256_set1_ps(2.0f)));
  return _mm256_mul_ps(num, inv);
}

// One output row (12 channels) of a 3x3 conv from 3 padded input rows.
// rows[ky]: [CIN][wp] with column 0 = left zero pad, pixels at 1..w, zeros after.
// wt: [CIN][3][3][12]; out: [12][wp] written at columns 1..wv, then re-zeroed after w.
// ACT: 0 = ReLU, 1 = tanh.
template <int CIN, int ACT>
void conv_row(const float* const rows[3], const float* wt, const float* bias, float* out, int w, int wv, int wp) {
  for (int g = 0; g < 2; ++g) {
    const float* wg = wt + g * 6;
    for (int x0 = 0; x0 < wv; x0 += 16) {
      __m256 acc[6][2];
      for (int o = 0; o < 6; ++o) acc[o][0] = acc[o][1] = _mm256_set1_ps(bias[g * 6 + o]);
      for (int ci = 0; ci < CIN; ++ci) {
        for (int ky = 0; ky < 3; ++ky) {
          const float* p = rows[ky] + ci * wp + x0;
          for (int kx = 0; kx < 3; ++kx) {
            __m256 v0 = _mm256_loadu_ps(p + kx);
            __m256 v1 = _mm256_loadu_ps(p + kx + 8);
            const float* wk = wg + ((ci * 3 + ky) * 3 + kx) * kC;
            for (int o = 0; o < 6; ++o) {
              __m256 wb = _mm256_broadcast_ss(wk + o);
              acc[o][0] = _mm256_fmadd_ps(v0, wb, acc[o][0]);
              acc[o][1] = _mm256_fmadd_ps(v1, wb, acc[o][1]);
            }
          }
        }
      }
      for (int o = 0; o < 6; ++o) {
        float* q = out + (g * 6 + o) * wp + 1 + x0;
        for (int h = 0; h < 2; ++h) {
          __m256 a = acc[o][h];
          a = ACT == 1 ? tanh_avx2(a) : _mm256_max_ps(a, _mm256_setzero_ps());
          _mm256_storeu_ps(q + 8 * h, a);
        }
      }
    }
  }
  for (int c = 0; c < kC; ++c)
    for (int x = w + 1; x < wp; ++x) out[c * wp + x] = 0.0f;
}


// ---- Winograd F(2,3) along rows: 2 output pixels from 4 inputs with 4 products instead of 6. ----
// Per input row and channel, tile t (output pixels 2t, 2t+1) reads padded columns 2t..2t+3 (d0..d3);
// V = B^T d = (d0-d2, d1+d2, d2-d1, d1-d3) is stored as [chan][4][ntp]. Weights arrive pre-transformed
// as U = G g along kx: [4][cin][ky][12]. Each of the 4 components is then a small GEMM over (cin, ky),
// blocked like the direct kernel (6 out-channels x 16 tiles); outputs y0 = m0+m1+m2, y1 = m1-m2-m3.
void wino_input_row(const float* raw, float* v, int chans, int ntp, int wp) {
  for (int c = 0; c < chans; ++c) {
    const float* r = raw + c * wp;
    float* d = v + c * 4 * ntp;
    for (int t = 0; t < ntp; ++t) {
      const float e = r[2 * t], o = r[2 * t + 1], e2 = r[2 * t + 2], o2 = r[2 * t + 3];
      d[t] = e - e2;
      d[ntp + t] = o + e2;
      d[2 * ntp + t] = e2 - o;
      d[3 * ntp + t] = o - o2;
    }
  }
}

// F(4,3) (points 0, +-1, +-2, inf): tile t = output pixels 4t..4t+3 from padded columns 4t..4t+5; 6 components.
// Vectorised by 8 tiles via in-lane 4x4 transposes, which leave the tiles of each group of 8 in the order
// 0 2 4 6 1 3 5 7; the GEMM does not care and wino4_output's interleave undoes it for free.
inline void transpose_phases(const float* p, __m256& d0, __m256& d1, __m256& d2, __m256& d3) {
  __m256 l0 = _mm256_loadu_ps(p), l1 = _mm256_loadu_ps(p + 8), l2 = _mm256_loadu_ps(p + 16), l3 = _mm256_loadu_ps(p + 24);
  __m256d u0 = _mm256_castps_pd(_mm256_unpacklo_ps(l0, l1)), u1 = _mm256_castps_pd(_mm256_unpackhi_ps(l0, l1));
  __m256d u2 = _mm256_castps_pd(_mm256_unpacklo_ps(l2, l3)), u3 = _mm256_castps_pd(_mm256_unpackhi_ps(l2, l3));
  d0 = _mm256_castpd_ps(_mm256_unpacklo_pd(u0, u2));
  d1 = _mm256_castpd_ps(_mm256_unpackhi_pd(u0, u2));
  d2 = _mm256_castpd_ps(_mm256_unpacklo_pd(u1, u3));
  d3 = _mm256_castpd_ps(_mm256_unpackhi_pd(u1, u3));
}

// raw rows must be readable up to column 4 * ntp + 35 (wp covers it: see forward()).
void wino4_input_row(const float* raw, float* v, int chans, int ntp, int wp) {
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f);
  for (int c = 0; c < chans; ++c) {
    const float* r = raw + c * wp;
    float* d = v + c * 6 * ntp;
    for (int t = 0; t < ntp; t += 8) {
      __m256 d0, d1, d2, d3, d4, d5, x2, x3;
      transpose_phases(r + 4 * t, d0, d1, d2, d3);
      transpose_phases(r + 4 * t + 4, d4, d5, x2, x3);
      __m256 s12 = _mm256_add_ps(d1, d2), m12 = _mm256_sub_ps(d1, d2);
      __m256 d42 = _mm256_sub_ps(d4, d2), d31 = _mm256_sub_ps(d3, d1);
      _mm256_storeu_ps(d + t, _mm256_add_ps(_mm256_fnmadd_ps(five, d2, _mm256_mul_ps(four, d0)), d4));
      _mm256_storeu_ps(d + ntp + t, _mm256_fnmadd_ps(four, s12, _mm256_add_ps(d3, d4)));
      _mm256_storeu_ps(d + 2 * ntp + t, _mm256_fmadd_ps(four, m12, _mm256_sub_ps(d4, d3)));
      _mm256_storeu_ps(d + 3 * ntp + t, _mm256_fmadd_ps(two, d31, d42));
      _mm256_storeu_ps(d + 4 * ntp + t, _mm256_fnmadd_ps(two, d31, d42));
      _mm256_storeu_ps(d + 5 * ntp + t, _mm256_add_ps(_mm256_fnmadd_ps(five, d3, _mm256_mul_ps(four, d1)), d5));
    }
  }
}

template <int ACT>
inline __m256 activate(__m256 y);

// F(4,3) output transform A^T m + bias, activation, and 4-way interleave of 16 tiles into 64 pixels.
template <int ACT, int NC>
void wino4_output(const float (*m)[kC][16], const float* bias, float* out, int tb, int wp) {
  for (int o = 0; o < kC; ++o) {
    const __m256 b = _mm256_set1_ps(bias[o]);
    float* q = out + o * wp + 1 + 4 * tb;
    for (int h = 0; h < 2; ++h) {
      __m256 mk[6];
      for (int k = 0; k < 6; ++k) mk[k] = _mm256_load_ps(m[k][o] + 8 * h);
      __m256 s12 = _mm256_add_ps(mk[1], mk[2]), d12 = _mm256_sub_ps(mk[1], mk[2]);
      __m256 s34 = _mm256_add_ps(mk[3], mk[4]), d34 = _mm256_sub_ps(mk[3], mk[4]);
      __m256 y0 = activate<ACT>(_mm256_add_ps(_mm256_add_ps(mk[0], s12), _mm256_add_ps(s34, b)));
      __m256 y1 = activate<ACT>(_mm256_add_ps(_mm256_fmadd_ps(d34, _mm256_set1_ps(2.f), d12), b));
      __m256 y2 = activate<ACT>(_mm256_add_ps(_mm256_fmadd_ps(s34, _mm256_set1_ps(4.f), s12), b));
      __m256 y3 = activate<ACT>(_mm256_add_ps(_mm256_fmadd_ps(d34, _mm256_set1_ps(8.f), d12), _mm256_add_ps(mk[5], b)));
      __m256 lo01 = _mm256_unpacklo_ps(y0, y1), hi01 = _mm256_unpackhi_ps(y0, y1);
      __m256 lo23 = _mm256_unpacklo_ps(y2, y3), hi23 = _mm256_unpackhi_ps(y2, y3);
      __m256 t04 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(lo01), _mm256_castps_pd(lo23)));
      __m256 t15 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(lo01), _mm256_castps_pd(lo23)));
      __m256 t26 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(hi01), _mm256_castps_pd(hi23)));
      __m256 t37 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(hi01), _mm256_castps_pd(hi23)));
      // Lanes hold tiles (0 2 4 6 | 1 3 5 7), so t04 = tiles (0 | 1), t15 = (2 | 3), t26 = (4 | 5), t37 = (6 | 7).
      float* qq = q + 32 * h;
      _mm256_storeu_ps(qq, t04);
      _mm256_storeu_ps(qq + 8, t15);
      _mm256_storeu_ps(qq + 16, t26);
      _mm256_storeu_ps(qq + 24, t37);
    }
  }
}

template <int ACT>
inline __m256 activate(__m256 y) {
  return ACT == 1 ? tanh_avx2(y) : _mm256_max_ps(y, _mm256_setzero_ps());
}

// Winograd row conv; TILE = 2 (F(2,3), 4 components) or 4 (F(4,3), 6 components).
template <int CIN, int ACT, int TILE>
void wino_conv_row(const float* const vrows[3], const float* u, const float* bias, float* out, int w, int ntp, int wp) {
  constexpr int NC = TILE + 2;
  alignas(32) float m[NC][kC][16];
  for (int tb = 0; tb < ntp; tb += 16) {
    for (int k = 0; k < NC; ++k) {
      for (int g = 0; g < 2; ++g) {
        __m256 acc[6][2];
        for (int o = 0; o < 6; ++o) acc[o][0] = acc[o][1] = _mm256_setzero_ps();
        for (int ci = 0; ci < CIN; ++ci) {
          for (int ky = 0; ky < 3; ++ky) {
            const float* p = vrows[ky] + (ci * NC + k) * ntp + tb;
            __m256 v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8);
            const float* wk = u + ((k * CIN + ci) * 3 + ky) * kC + g * 6;
            for (int o = 0; o < 6; ++o) {
              __m256 wb = _mm256_broadcast_ss(wk + o);
              acc[o][0] = _mm256_fmadd_ps(v0, wb, acc[o][0]);
              acc[o][1] = _mm256_fmadd_ps(v1, wb, acc[o][1]);
            }
          }
        }
        for (int o = 0; o < 6; ++o) {
          _mm256_store_ps(m[k][g * 6 + o], acc[o][0]);
          _mm256_store_ps(m[k][g * 6 + o] + 8, acc[o][1]);
        }
      }
    }
    if (TILE == 4) {
      wino4_output<ACT, NC>(m, bias, out, tb, wp);
      continue;
    }
    for (int o = 0; o < kC; ++o) {
      const __m256 b = _mm256_set1_ps(bias[o]);
      float* q = out + o * wp + 1 + 2 * tb;
      for (int h = 0; h < 2; ++h) {
        __m256 m0 = _mm256_load_ps(m[0][o] + 8 * h), m1 = _mm256_load_ps(m[1][o] + 8 * h);
        static_assert(TILE == 2 || TILE == 4, "tile");
        __m256 m2 = _mm256_load_ps(m[2][o] + 8 * h), m3 = _mm256_load_ps(m[3][o] + 8 * h);
        __m256 y0 = _mm256_add_ps(_mm256_add_ps(m0, m1), _mm256_add_ps(m2, b));
        __m256 y1 = _mm256_sub_ps(_mm256_sub_ps(m1, m2), _mm256_sub_ps(m3, b));
        if (ACT == 1) { y0 = tanh_avx2(y0); y1 = tanh_avx2(y1); }
        else { y0 = _mm256_max_ps(y0, _mm256_setzero_ps()); y1 = _mm256_max_ps(y1, _mm256_setzero_ps()); }
        __m256 lo = _mm256_unpacklo_ps(y0, y1), hi = _mm256_unpackhi_ps(y0, y1);
        _mm256_storeu_ps(q + 16 * h, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(q + 16 * h + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
      }
    }
  }
  for (int c = 0; c < kC; ++c)
    for (int x = w + 1; x < wp; ++x) out[c * wp + x] = 0.0f;
}

// Pixel shuffle of one 12-channel row t ([12][wp], pixels at 1..w) into output rows 2y, 2y+1 of 3 planes.
void shuffle_row(const float* t, float* out, int y, int w, int wp, int64_t plane) {
  const int ow = 2 * w;
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 2; ++i) {
      const float* a = t + (c * 4 + i * 2) * wp + 1;
      const float* b = a + wp;
      float* q = out + c * plane + (int64_t)(2 * y + i) * ow;
      int x = 0;
      // The output (25 MB at Full HD) is never re-read here: stream it past the cache when aligned.
      const bool aligned = (reinterpret_cast<uintptr_t>(q) & 31) == 0;
      if (aligned) {
        for (; x + 8 <= w; x += 8) {
          __m256 va = _mm256_loadu_ps(a + x), vb = _mm256_loadu_ps(b + x);
          __m256 lo = _mm256_unpacklo_ps(va, vb), hi = _mm256_unpackhi_ps(va, vb);
          _mm256_stream_ps(q + 2 * x, _mm256_permute2f128_ps(lo, hi, 0x20));
          _mm256_stream_ps(q + 2 * x + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
        }
      }
      for (; x + 8 <= w; x += 8) {
        __m256 va = _mm256_loadu_ps(a + x), vb = _mm256_loadu_ps(b + x);
        __m256 lo = _mm256_unpacklo_ps(va, vb), hi = _mm256_unpackhi_ps(va, vb);
        _mm256_storeu_ps(q + 2 * x, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(q + 2 * x + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
      }
      for (; x < w; ++x) {
        q[2 * x] = a[x];
        q[2 * x + 1] = b[x];
      }
    }
  }
}

struct Band {
  int h, w, wv, wp;
  const float* x;  // [4][h][w]
  float* out;      // [3][2h][2w]
  const float *w1, *b1, *w2, *b2, *w3, *b3;
};

// Output rows [r0, r1) of one image, with 3-row rings per layer (slot = row % 3).
// Fill the three 3-row rings up to the rows output row y needs. Input row r must be loaded before A row
// r-1 and A row r before B row r-1; interleaving them so keeps each ring from overrunning.
template <class Load, class ComputeA, class ComputeB>
inline void advance_rings(int need_in, int need_a, int need_b, int& next_in, int& next_a, int& next_b,
                          Load& load_input, ComputeA& compute_a, ComputeB& compute_b) {
  while (next_b <= need_b) {
    while (next_a <= std::min(next_b + 1, need_a)) {
      while (next_in <= std::min(next_a + 1, need_in)) load_input(next_in++);
      compute_a(next_a++);
    }
    compute_b(next_b++);
  }
}

void run_band(const Band& s, int r0, int r1) {
  const int wp = s.wp;
  std::vector<float> in_ring(3 * 4 * wp, 0.f), a_ring(3 * kC * wp, 0.f), b_ring(3 * kC * wp, 0.f);
  std::vector<float> zeros(kC * wp, 0.f), t(kC * wp, 0.f);
  auto ring_row = [&](std::vector<float>& ring, int chans, int r) -> const float* {
    if (r < 0 || r >= s.h) return zeros.data();
    return ring.data() + (r % 3) * chans * wp;
  };
  auto load_input = [&](int r) {
    float* dst = in_ring.data() + (r % 3) * 4 * wp;
    for (int c = 0; c < 4; ++c) std::memcpy(dst + c * wp + 1, s.x + ((int64_t)c * s.h + r) * s.w, s.w * sizeof(float));
  };
  auto compute_a = [&](int r) {
    const float* rows[3] = {ring_row(in_ring, 4, r - 1), ring_row(in_ring, 4, r), ring_row(in_ring, 4, r + 1)};
    conv_row<4, 1>(rows, s.w1, s.b1, a_ring.data() + (r % 3) * kC * wp, s.w, s.wv, wp);
  };
  auto compute_b = [&](int r) {
    const float* rows[3] = {ring_row(a_ring, kC, r - 1), ring_row(a_ring, kC, r), ring_row(a_ring, kC, r + 1)};
    conv_row<kC, 0>(rows, s.w2, s.b2, b_ring.data() + (r % 3) * kC * wp, s.w, s.wv, wp);
  };
  int next_in = std::max(r0 - 3, 0), next_a = std::max(r0 - 2, 0), next_b = std::max(r0 - 1, 0);
  const int64_t plane = (int64_t)4 * s.h * s.w;
  for (int y = r0; y < r1; ++y) {
    const int need_b = std::min(y + 1, s.h - 1), need_a = std::min(y + 2, s.h - 1), need_in = std::min(y + 3, s.h - 1);
    advance_rings(need_in, need_a, need_b, next_in, next_a, next_b, load_input, compute_a, compute_b);
    const float* rows[3] = {ring_row(b_ring, kC, y - 1), ring_row(b_ring, kC, y), ring_row(b_ring, kC, y + 1)};
    conv_row<kC, 0>(rows, s.w3, s.b3, t.data(), s.w, s.wv, wp);
    shuffle_row(t.data(), s.out, y, s.w, wp, plane);
  }
  _mm_sfence();  // make the streamed stores visible before the caller reads the output
}


// Winograd version of run_band: rings hold transformed rows V ([chans][4][ntp]); raw rows live only briefly.
template <int TILE>
void run_band_wino(const Band& s, int r0, int r1) {
  constexpr int NC = TILE + 2;
  const int wp = s.wp, ntp = s.wv / TILE;
  auto transform = TILE == 2 ? wino_input_row : wino4_input_row;
  std::vector<float> raw(kC * wp, 0.f), t(kC * wp, 0.f), zeros(kC * NC * ntp, 0.f);
  std::vector<float> in_ring(3 * 4 * NC * ntp), a_ring(3 * kC * NC * ntp), b_ring(3 * kC * NC * ntp);
  auto ring_row = [&](std::vector<float>& ring, int chans, int r) -> const float* {
    if (r < 0 || r >= s.h) return zeros.data();
    return ring.data() + (r % 3) * chans * NC * ntp;
  };
  auto load_input = [&](int r) {
    for (int c = 0; c < 4; ++c) std::memcpy(raw.data() + c * wp + 1, s.x + ((int64_t)c * s.h + r) * s.w, s.w * sizeof(float));
    transform(raw.data(), in_ring.data() + (r % 3) * 4 * NC * ntp, 4, ntp, wp);
  };
  auto compute_a = [&](int r) {
    const float* rows[3] = {ring_row(in_ring, 4, r - 1), ring_row(in_ring, 4, r), ring_row(in_ring, 4, r + 1)};
    wino_conv_row<4, 1, TILE>(rows, s.w1, s.b1, raw.data(), s.w, ntp, wp);
    transform(raw.data(), a_ring.data() + (r % 3) * kC * NC * ntp, kC, ntp, wp);
  };
  auto compute_b = [&](int r) {
    const float* rows[3] = {ring_row(a_ring, kC, r - 1), ring_row(a_ring, kC, r), ring_row(a_ring, kC, r + 1)};
    wino_conv_row<kC, 0, TILE>(rows, s.w2, s.b2, raw.data(), s.w, ntp, wp);
    transform(raw.data(), b_ring.data() + (r % 3) * kC * NC * ntp, kC, ntp, wp);
  };
  int next_in = std::max(r0 - 3, 0), next_a = std::max(r0 - 2, 0), next_b = std::max(r0 - 1, 0);
  const int64_t plane = (int64_t)4 * s.h * s.w;
  for (int y = r0; y < r1; ++y) {
    const int need_b = std::min(y + 1, s.h - 1), need_a = std::min(y + 2, s.h - 1), need_in = std::min(y + 3, s.h - 1);
    advance_rings(need_in, need_a, need_b, next_in, next_a, next_b, load_input, compute_a, compute_b);
    const float* rows[3] = {ring_row(b_ring, kC, y - 1), ring_row(b_ring, kC, y), ring_row(b_ring, kC, y + 1)};
    wino_conv_row<kC, 0, TILE>(rows, s.w3, s.b3, t.data(), s.w, ntp, wp);
    shuffle_row(t.data(), s.out, y, s.w, wp, plane);
  }
  _mm_sfence();
}

torch::Tensor forward(torch::Tensor x, torch::Tensor w1, torch::Tensor b1, torch::Tensor w2, torch::Tensor b2,
                      torch::Tensor w3, torch::Tensor b3, int64_t band_rows, c10::optional<torch::Tensor> out_opt,
                      int64_t winograd_tile) {
  TORCH_CHECK(winograd_tile == 0 || winograd_tile == 2 || winograd_tile == 4, "winograd_tile must be 0, 2 or 4, got ", winograd_tile);
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 4 && x.scalar_type() == torch::kFloat, "expected float (B,4,h,w), got ",
              x.sizes());
  x = x.contiguous();
  const int n = x.size(0), h = x.size(2), w = x.size(3);
  // A caller-owned output (e.g. reused across video frames) skips ~25 MB of fresh page faults per call.
  torch::Tensor out;
  if (out_opt.has_value()) {
    out = *out_opt;
    TORCH_CHECK(out.is_contiguous() && out.scalar_type() == torch::kFloat &&
                    out.sizes() == torch::IntArrayRef({n, 3, 2 * h, 2 * w}),
                "out must be a contiguous float tensor of shape ", torch::IntArrayRef({n, 3, 2 * h, 2 * w}));
  } else {
    out = torch::empty({n, 3, 2 * h, 2 * w}, x.options());
  }
  TORCH_CHECK(band_rows >= 1, "band_rows must be >= 1, got ", band_rows);
  Band s;
  s.h = h; s.w = w; s.wv = winograd_tile ? (w + 16 * winograd_tile - 1) / (16 * winograd_tile) * (16 * winograd_tile) : (w + 15) / 16 * 16; s.wp = s.wv + 4;  // +4: left pad, right pad, and the F(4,3) transform's 2-float vector over-read
  s.w1 = w1.data_ptr<float>(); s.b1 = b1.data_ptr<float>();
  s.w2 = w2.data_ptr<float>(); s.b2 = b2.data_ptr<float>();
  s.w3 = w3.data_ptr<float>(); s.b3 = b3.data_ptr<float>();
  const int bands = (h + band_rows - 1) / band_rows;
  for (int i = 0; i < n; ++i) {
    Band si = s;
    si.x = x.data_ptr<float>() + (int64_t)i * 4 * h * w;
    si.out = out.data_ptr<float>() + (int64_t)i * 12 * h * w;
    at::parallel_for(0, bands, 1, [&](int64_t b0, int64_t b1_) {
      for (int64_t b = b0; b < b1_; ++b) {
        const int r0 = b * band_rows, r1 = std::min<int64_t>((b + 1) * band_rows, h);
        if (winograd_tile == 4) run_band_wino<4>(si, r0, r1);
        else if (winograd_tile == 2) run_band_wino<2>(si, r0, r1);
        else run_band(si, r0, r1);
      }
    });
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("forward", &forward, "fused Efficient ISP forward (AVX2)", py::arg("x"), py::arg("w1"), py::arg("b1"),
        py::arg("w2"), py::arg("b2"), py::arg("w3"), py::arg("b3"), py::arg("band_rows"), py::arg("out") = py::none(), py::arg("winograd_tile") = 0); }
