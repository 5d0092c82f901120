// Cost of a full quantization analysis (issue 10: all statistics, no sensitivity) against the
// FP32 + qdq forwards alone, on a synthetic bert-base (random weights, amax max-calibrated on the
// data) with 32 samples at seq 128. Usage: qdq_bench_analysis [samples] [seq] [batch]
#include "qdq/analysis.h"
#include "qdq/quant/tensor_quantizer.h"
#include "qdq/threading.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

using namespace qdq;

namespace {

// Running max |x| of every activation site (what a max calibration stores, reference §4.2).
class MaxObserver final : public TensorObserver {
public:
    void observe(std::string_view name, const Tensor &tensor) override
    {
        const auto site = QuantizerSite::fromKey(name);
        if (!site || siteIsWeight(site->id))
            return;
        float &m = m_max[std::string(name)];
        m = std::max(m, reduceAbsMax(tensor, std::nullopt).front());
    }
    [[nodiscard]] const std::map<std::string, float> &values() const { return m_max; }

private:
    std::map<std::string, float> m_max;
};

double seconds(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int main(int argc, char **argv)
{
    const std::int64_t samples = argc > 1 ? std::max(1, std::atoi(argv[1])) : 32;
    const std::int64_t seq = argc > 2 ? std::max(2, std::atoi(argv[2])) : 128;
    const std::int64_t batch = argc > 3 ? std::max(1, std::atoi(argv[3])) : 8;
    applyNumThreads();
    const BertConfig config;
    const Task task = Task::SequenceClassification;
    const Checkpoint checkpoint = randomCheckpoint(config, task, 1);

    std::vector<ForwardInputs> batches;
    for (std::int64_t b0 = 0; b0 < samples; b0 += batch) {
        const std::int64_t rows = std::min(batch, samples - b0);
        std::vector<std::int64_t> ids(static_cast<std::size_t>(rows * seq));
        for (std::size_t i = 0; i < ids.size(); ++i)
            ids[i] = static_cast<std::int64_t>((i * 2654435761ULL + 101 + static_cast<std::uint64_t>(b0)) %
                                               static_cast<std::uint64_t>(config.vocabSize));
        ForwardInputs in;
        in.inputIds = Tensor::fromValues<std::int64_t>({rows, seq}, ids);
        batches.push_back(std::move(in));
    }

    // max calibration of the activation sites on the same data
    ModelOptions fp32Options;
    fp32Options.task = task;
    QDQBertModel fp32(checkpoint, fp32Options);
    MaxObserver observer;
    fp32.setObserver(&observer);
    for (const ForwardInputs &in : batches)
        (void)fp32.forward(in);
    fp32.setObserver(nullptr);
    QuantConfig quant = QuantConfig::fromCheckpoint(checkpoint);
    for (const auto &[name, value] : observer.values())
        quant.setAmax(SiteSelector::parse(name), value);

    ModelOptions qdqOptions = fp32Options;
    qdqOptions.precision = Precision::Qdq;
    qdqOptions.quant = quant;
    QDQBertModel qdq(checkpoint, qdqOptions);
    (void)qdq.forward(batches.front()); // weight preparation outside the timing

    std::printf("threads %d, synthetic bert-base, %lld samples x seq %lld, batch %lld\n", numThreads(),
                static_cast<long long>(samples), static_cast<long long>(seq), static_cast<long long>(batch));
    auto t0 = std::chrono::steady_clock::now();
    for (const ForwardInputs &in : batches) {
        (void)fp32.forward(in);
        (void)qdq.forward(in);
    }
    const double baseline = seconds(t0);
    std::printf("fp32 + qdq forwards:            %8.2f s\n", baseline);

    AnalysisOptions options;
    options.task = task;
    options.quant = quant;
    options.runInt8 = false;
    t0 = std::chrono::steady_clock::now();
    AnalysisReport r = analyzeQuantization(checkpoint, batches, options);
    double s = seconds(t0);
    std::printf("analysis fp32 vs qdq (+local):  %8.2f s  %.2fx  (%lld passes)\n", s, s / baseline,
                static_cast<long long>(r.forwardPasses));

    options.runInt8 = true;
    t0 = std::chrono::steady_clock::now();
    r = analyzeQuantization(checkpoint, batches, options);
    s = seconds(t0);
    std::printf("analysis fp32 vs qdq and int8:  %8.2f s  %.2fx  (%lld passes)\n", s, s / baseline,
                static_cast<long long>(r.forwardPasses));
    const AnalysisTimings &t = r.timings;
    std::printf("  fp32 %.2f s (site statistics %.2f s), qdq %.2f s, int8 %.2f s, local %.2f s, summaries %.2f s\n",
                t.fp32Forward, t.siteStatistics, t.qdqForward, t.int8Forward, t.localForward, t.summaries);
    return 0;
}
