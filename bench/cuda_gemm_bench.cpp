// BERT-base shaped GEMMs on the CUDA backend (issue 26): per (batch, seq) the six linears of one
// encoder layer (Q, K, V, attention output: 768 -> 768; FFN up 768 -> 3072, down 3072 -> 768) with
// M = batch * seq rows, in FP32 (TF32 off), FP16 (FP32 accumulation) and INT8, through the backend
// (linear / quantizedLinear: upload, quantization, GEMM, epilogue, download: the interface is
// host-facing today) against the raw cuBLASLt GEMMs alone on device-resident operands, measured in
// the same run. Prints one line per case and a ratio backend / GEMM-only.
//   qdq_bench_cuda_gemm [--quick] [--device N]
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda_entry.h"

#include "qdq/device.h"
#include "qdq/errors.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace qdq;
using kernels::Activation;

namespace {

struct Shape3 {
    std::int64_t n;
    std::int64_t k;
};
constexpr Shape3 kLayer[] = {{768, 768}, {768, 768}, {768, 768}, {768, 768}, {3072, 768}, {768, 3072}};

Tensor randomTensor(const Shape &shape, unsigned seed, float spread)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0F, spread);
    Tensor t = Tensor::empty(DType::F32, shape);
    float *p = t.mutableData<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
        p[i] = dist(rng);
    return t;
}

double nowMs()
{
    using Clock = std::chrono::steady_clock;
    return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

enum class Mode { Fp32, Fp16, Int8 };
const char *modeName(Mode m)
{
    return m == Mode::Fp32 ? "fp32" : m == Mode::Fp16 ? "fp16" : "int8";
}

} // namespace

int main(int argc, char **argv)
{
    bool quick = false;
    int device = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = std::stoi(argv[++i]);
    }
    const CudaStatus status = cudaStatus();
    if (!status.available) {
        std::printf("no CUDA device: %s\n", status.message.c_str());
        return 2;
    }
    try {
        auto fp32 = detail::createCudaBackend(device, detail::CudaGemmMath::Fp32);
        auto fp16 = detail::createCudaBackend(device, detail::CudaGemmMath::Fp16);
        auto *raw = dynamic_cast<kernels::cuda::CudaBackend *>(fp32.get());
        std::printf("device %s\n", fp32->name().c_str());
        const int repeats = quick ? 3 : 10;
        const int gemmRepeats = quick ? 10 : 50;
        for (const std::int64_t seq : {std::int64_t{128}, std::int64_t{384}})
            for (const std::int64_t batch : {std::int64_t{1}, std::int64_t{8}, std::int64_t{32}}) {
                const std::int64_t rows = batch * seq;
                const Tensor x768 = randomTensor({rows, 768}, 1, 1.0F);
                const Tensor x3072 = randomTensor({rows, 3072}, 2, 1.0F);
                for (const Mode mode : {Mode::Fp32, Mode::Fp16, Mode::Int8}) {
                    kernels::Backend &backend = mode == Mode::Fp16 ? *fp16 : *fp32;
                    std::vector<std::unique_ptr<kernels::PackedLinear>> packed;
                    unsigned seed = 10;
                    for (const Shape3 &s : kLayer) {
                        const Tensor w = randomTensor({s.n, s.k}, seed++, 0.03F);
                        const Tensor b = randomTensor({s.n}, seed++, 0.1F);
                        if (mode == Mode::Int8) {
                            QuantizedTensor q;
                            q.codes = w.to(DType::I8); // small values: codes in [-1, 1], the timing does not care
                            q.scale.assign(static_cast<std::size_t>(s.n), 127.0F / 0.1F);
                            packed.push_back(backend.packQuantizedLinear(q, b, Activation::None));
                        } else {
                            packed.push_back(backend.packLinear(w, b, Activation::None));
                        }
                    }
                    IntegerQuant xq;
                    xq.scale = 127.0F / 4.0F;
                    const auto runSet = [&] {
                        for (std::size_t i = 0; i < packed.size(); ++i) {
                            const Tensor &x = kLayer[i].k == 768 ? x768 : x3072;
                            const Tensor y = mode == Mode::Int8 ? backend.quantizedLinear(x, xq, *packed[i])
                                                                : backend.linear(x, *packed[i]);
                            (void)y;
                        }
                    };
                    runSet(); // warm-up: plans, heuristics, arena growth
                    const double start = nowMs();
                    for (int r = 0; r < repeats; ++r)
                        runSet();
                    const double backendMs = (nowMs() - start) / repeats;
                    double gemmMs = 0.0;
                    const kernels::cuda::BenchGemm kind = mode == Mode::Fp32   ? kernels::cuda::BenchGemm::Fp32
                                                          : mode == Mode::Fp16 ? kernels::cuda::BenchGemm::Fp16
                                                                               : kernels::cuda::BenchGemm::Int8;
                    for (const Shape3 &s : kLayer)
                        gemmMs += raw->gemmOnlyMs(kind, rows, s.n, s.k, gemmRepeats);
                    const double flops = 2.0 * static_cast<double>(rows) * (4.0 * 768 * 768 + 2.0 * 768 * 3072);
                    std::printf("BENCH %s batch=%lld seq=%lld backend_ms=%.3f gemm_only_ms=%.3f ratio=%.2f "
                                "gemm_tflops=%.1f\n",
                                modeName(mode), static_cast<long long>(batch), static_cast<long long>(seq), backendMs,
                                gemmMs, backendMs / gemmMs, flops / (gemmMs * 1e9));
                    std::fflush(stdout);
                }
            }
    } catch (const Error &e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
    return 0;
}
