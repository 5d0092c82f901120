// Fake quant of BERT-base-shaped tensors ([128, 768] activations per tensor, [3072, 768]
// weights per row) and histogram collection throughput, each relative to a plain copy of the
// same data. Usage: qdq_bench_quant [repetitions]
#include "qdq/quant/calibrator.h"
#include "qdq/quant/tensor_quantizer.h"
#include "qdq/threading.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

using namespace qdq;

namespace {

Tensor randomTensor(Shape shape, std::uint32_t seed)
{
    Tensor t = Tensor::empty(DType::F32, std::move(shape));
    float *p = t.mutableData<float>();
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        seed = seed * 1664525U + 1013904223U;
        p[i] = (static_cast<float>(seed >> 8) / 16777216.0F - 0.5F) * 4.0F;
    }
    return t;
}

// Median seconds per call over `reps` calls.
double timeIt(int reps, const std::function<void()> &fn)
{
    std::vector<double> s;
    fn(); // warm-up
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 50;
    applyNumThreads();
    std::printf("threads: %d, repetitions: %d (median)\n", numThreads(), reps);
    struct Case {
        const char *name;
        Shape shape;
        bool perRow;
    };
    for (const Case &c :
         {Case{"act [128,768] per-tensor", {128, 768}, false}, Case{"weight [3072,768] per-row", {3072, 768}, true}}) {
        const Tensor x = randomTensor(c.shape, 7);
        Tensor out = Tensor::empty(DType::F32, c.shape);
        QuantDescriptor d;
        if (c.perRow)
            d.axis = 0;
        TensorQuantizer q(d);
        q.setAmax(c.perRow ? Tensor::fromValues<float>({c.shape[0], 1},
                                                       std::vector<float>(static_cast<std::size_t>(c.shape[0]), 1.5F))
                           : Tensor::fromValues<float>({}, {1.5F}));
        const double copy = timeIt(reps, [&] { std::memcpy(out.mutableRawData(), x.rawData(), x.nbytes()); });
        const double fq = timeIt(reps, [&] { out = q.apply(x); });
        Tensor inPlace = x.clone();
        const double fqIn = timeIt(reps, [&] { q.applyInPlace(inPlace); });
        TensorQuantizer dyn(d);
        const double fqDyn = timeIt(reps, [&] { out = dyn.apply(x); });
        std::printf("%-28s copy %8.1f us | fake quant %8.1f us (%.2fx) | in place %8.1f us (%.2fx) | dynamic amax "
                    "%8.1f us (%.2fx)\n",
                    c.name, copy * 1e6, fq * 1e6, fq / copy, fqIn * 1e6, fqIn / copy, fqDyn * 1e6, fqDyn / copy);
    }
    const Tensor act = randomTensor({128, 768}, 11);
    Tensor out = Tensor::empty(DType::F32, {128, 768});
    const double copy = timeIt(reps, [&] { std::memcpy(out.mutableRawData(), act.rawData(), act.nbytes()); });
    for (const auto collection : {HistogramCollection::NumPy, HistogramCollection::Torch}) {
        HistogramOptions o;
        o.collection = collection;
        HistogramCalibrator h(8, false, o);
        const double hist = timeIt(reps, [&] { h.collect(act); });
        std::printf("histogram collect [128,768] %-5s %8.1f us (%.2fx copy)\n",
                    collection == HistogramCollection::NumPy ? "numpy" : "torch", hist * 1e6, hist / copy);
    }
    MaxCalibrator m;
    const double mx = timeIt(reps, [&] { m.collect(act); });
    std::printf("max collect [128,768]             %8.1f us (%.2fx copy)\n", mx * 1e6, mx / copy);
    return 0;
}
