// qdq_bench_load: opening a BERT-base-shaped f32 safetensors checkpoint (~440 MB) with
// loadCheckpoint. Reports the open time and the resident memory before and after every page of
// every tensor is touched: a zero-copy loader maps the file, so RSS grows only when pages are read.
//
//   qdq_bench_load [--dir /tmp] [--keep]
#include "qdq/checkpoint.h"
#include "qdq/io/safetensors.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

double rssMiB()
{
    std::ifstream in("/proc/self/statm");
    long pages = 0;
    long resident = 0;
    in >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double secondsSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// BERT-base (reference §2.1): 12 layers, H 768, I 3072, vocab 30522, with a masked-LM head and
// a pooler, f32. Values are a cheap deterministic pattern: content does not matter for loading.
void writeBertBase(const std::filesystem::path &path)
{
    constexpr std::int64_t H = 768;
    constexpr std::int64_t I = 3072;
    std::vector<std::pair<std::string, qdq::Shape>> shapes{{"bert.embeddings.word_embeddings.weight", {30522, H}},
                                                           {"bert.embeddings.position_embeddings.weight", {512, H}},
                                                           {"bert.embeddings.token_type_embeddings.weight", {2, H}},
                                                           {"bert.embeddings.LayerNorm.weight", {H}},
                                                           {"bert.embeddings.LayerNorm.bias", {H}}};
    for (int i = 0; i < 12; ++i) {
        const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
        for (const char *lin :
             {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
            shapes.push_back({p + lin + ".weight", {H, H}});
            shapes.push_back({p + lin + ".bias", {H}});
        }
        shapes.push_back({p + "intermediate.dense.weight", {I, H}});
        shapes.push_back({p + "intermediate.dense.bias", {I}});
        shapes.push_back({p + "output.dense.weight", {H, I}});
        shapes.push_back({p + "output.dense.bias", {H}});
        for (const char *ln : {"attention.output.LayerNorm", "output.LayerNorm"}) {
            shapes.push_back({p + ln + ".weight", {H}});
            shapes.push_back({p + ln + ".bias", {H}});
        }
    }
    shapes.push_back({"bert.pooler.dense.weight", {H, H}});
    shapes.push_back({"bert.pooler.dense.bias", {H}});
    shapes.push_back({"cls.predictions.transform.dense.weight", {H, H}});
    shapes.push_back({"cls.predictions.transform.dense.bias", {H}});
    shapes.push_back({"cls.predictions.transform.LayerNorm.weight", {H}});
    shapes.push_back({"cls.predictions.transform.LayerNorm.bias", {H}});
    shapes.push_back({"cls.predictions.bias", {30522}});

    std::vector<qdq::Tensor> tensors;
    std::vector<std::pair<std::string, const qdq::Tensor *>> refs;
    tensors.reserve(shapes.size());
    for (const auto &[name, shape] : shapes) {
        qdq::Tensor t = qdq::Tensor::empty(qdq::DType::F32, shape);
        float *d = t.mutableData<float>();
        for (std::int64_t j = 0; j < t.numel(); ++j)
            d[j] = static_cast<float>(j % 97) * 0.01f;
        tensors.push_back(std::move(t));
    }
    for (std::size_t i = 0; i < shapes.size(); ++i)
        refs.emplace_back(shapes[i].first, &tensors[i]);
    qdq::writeSafetensors(path, refs);
}

} // namespace

int main(int argc, char **argv)
{
    std::filesystem::path dir = "/tmp";
    bool keep = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (std::strcmp(argv[i], "--keep") == 0)
            keep = true;
    }
    const std::filesystem::path file = dir / ("qdq_bench_bert_base_" + std::to_string(getpid()) + ".safetensors");
    try {
        auto t0 = std::chrono::steady_clock::now();
        writeBertBase(file);
        const double writeS = secondsSince(t0);
        const auto bytes = std::filesystem::file_size(file);
        std::printf("wrote %s: %.1f MB in %.2f s\n", file.c_str(), static_cast<double>(bytes) / 1e6, writeS);
        // drop what writing left resident in this process
        const double rss0 = rssMiB();

        t0 = std::chrono::steady_clock::now();
        const qdq::Checkpoint ckpt = qdq::loadCheckpoint(file);
        const double openS = secondsSince(t0);
        const double rssOpen = rssMiB();

        t0 = std::chrono::steady_clock::now();
        double sum = 0.0;
        const long page = sysconf(_SC_PAGESIZE);
        for (const auto &[name, t] : ckpt.tensors) {
            const auto *p = static_cast<const unsigned char *>(t.rawData());
            for (std::size_t off = 0; off < t.nbytes(); off += static_cast<std::size_t>(page))
                sum += p[off];
        }
        const double touchS = secondsSince(t0);
        const double rssTouched = rssMiB();

        std::printf("tensors              %zu (%d layers, hidden %lld, config %s)\n", ckpt.tensors.size(),
                    static_cast<int>(ckpt.config.numHiddenLayers), static_cast<long long>(ckpt.config.hiddenSize),
                    ckpt.configFromFile ? "from file" : "inferred");
        std::printf("loadCheckpoint       %.3f ms\n", openS * 1e3);
        std::printf("RSS before open      %.1f MiB\n", rss0);
        std::printf("RSS after open       %.1f MiB (+%.1f)\n", rssOpen, rssOpen - rss0);
        std::printf("RSS after touching   %.1f MiB (+%.1f) in %.1f ms (checksum %.0f)\n", rssTouched,
                    rssTouched - rssOpen, touchS * 1e3, sum);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "qdq_bench_load: %s\n", e.what());
        std::filesystem::remove(file);
        return 1;
    }
    if (!keep)
        std::filesystem::remove(file);
    return 0;
}
