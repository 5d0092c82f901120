// qdq make-synthetic: a random, deterministic masked-LM checkpoint of a real size (BERT-base,
// BERT-large, ...) written as a Hugging Face folder, for benchmarks and scale tests. Optionally
// with K outlier hidden dimensions like real BERT's (large LayerNorm gains and offsets on a few
// dimensions, so those dimensions carry activation outliers), and with `_amax` buffers (--qdq):
// per-row weight amax from the weights, activation amax max-calibrated (reference §4.2) over a
// deterministic batch of random tokens. Never meant to be committed.
#include "cli/cli.h"

#include "qdq/calibration.h"
#include "qdq/checkpoint.h"
#include "qdq/errors.h"
#include "qdq/io/atomic_file.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"
#include "qdq/quantizer_site.h"
#include "qdq/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>
#include <system_error>
#include <vector>

namespace qdq::cli {
namespace {

namespace fs = std::filesystem;

// splitmix64: the outlier dimensions and the calibration tokens (the weights come from
// randomCheckpoint's own generator).
struct SplitMix {
    std::uint64_t state;
    std::uint64_t next()
    {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
};

// The vocabulary as the checkpoint's tokenizer will read it (qdq/tokenizer.h).
std::vector<std::string> readVocab(const fs::path &path)
{
    std::vector<std::string> tokens = readVocabularyFile(path);
    if (tokens.size() < 5)
        throw FormatError("a vocabulary needs at least 5 tokens (one per line), found " + std::to_string(tokens.size()),
                          Location{path.string(), {}, {}});
    return tokens;
}

std::int64_t tokenId(const std::vector<std::string> &vocab, const std::string &token, std::int64_t fallback)
{
    const auto it = std::find(vocab.begin(), vocab.end(), token);
    return it == vocab.end() ? fallback : static_cast<std::int64_t>(it - vocab.begin());
}

int runMakeSynthetic(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Write a random, deterministic masked-LM checkpoint of a given size as a Hugging Face folder\n"
        "(config.json, model.safetensors, vocab.txt, tokenizer_config.json), e.g. BERT-base:\n"
        "  qdq make-synthetic --layers 12 --hidden 768 --heads 12 --intermediate 3072 --vocab vocab.txt --out DIR\n"
        "BERT-large: --layers 24 --hidden 1024 --heads 16 --intermediate 4096.");
    addCommonOptions(parser);
    parser.addOption({"layers", "Encoder layers.", "L"});
    parser.addOption({"hidden", "Hidden size.", "H"});
    parser.addOption({"heads", "Attention heads (must divide the hidden size).", "A"});
    parser.addOption({"intermediate", "Feed-forward size (default 4 x hidden).", "I"});
    parser.addOption({"vocab", "vocab.txt (one WordPiece token a line); its size is the vocabulary size.", "FILE"});
    parser.addOption({"out", "Output folder (written atomically; must not exist unless --force).", "DIR"});
    parser.addOption({"max-position", "max_position_embeddings (default 512).", "N", "512"});
    parser.addOption({"outliers", "Outlier hidden dimensions with large LayerNorm gains (default 0).", "K", "0"});
    parser.addOption({"qdq", "Add _amax buffers: per-row weight amax, activations max-calibrated on random tokens."});
    parser.addOption({"seed", "Random seed (default 0).", "S", "0"});
    parser.addOption({"force", "Replace an existing output folder."});
    const CommonOptions common = parseArgs(parser, args, "make-synthetic");

    for (const char *required : {"layers", "hidden", "heads", "vocab", "out"})
        (void)requireOption(parser, required);
    BertConfig config;
    config.numHiddenLayers = intOption(parser, "layers", 1, 256);
    config.hiddenSize = intOption(parser, "hidden", 1, 65536);
    config.numAttentionHeads = intOption(parser, "heads", 1, 4096);
    if (config.hiddenSize % config.numAttentionHeads != 0)
        throw UsageError("--hidden " + std::to_string(config.hiddenSize) + " is not divisible by --heads " +
                         std::to_string(config.numAttentionHeads));
    config.intermediateSize =
        parser.isSet("intermediate") ? intOption(parser, "intermediate", 1, 1 << 20) : 4 * config.hiddenSize;
    config.maxPositionEmbeddings = intOption(parser, "max-position", 2, 1 << 16);
    const std::int64_t outliers = intOption(parser, "outliers", 0, config.hiddenSize);
    bool seedOk = false;
    const std::uint64_t seed = parser.value("seed").toULongLong(&seedOk);
    if (!seedOk)
        throw UsageError("--seed expects a non-negative integer, got '" + parser.value("seed").toStdString() + "'");
    const bool qdqBuffers = parser.isSet("qdq");
    const fs::path out = parser.value("out").toStdString();
    if (fs::exists(out) && !parser.isSet("force"))
        throw UsageError(out.string() + " exists; choose another --out or pass --force to replace it");

    const fs::path vocabPath = parser.value("vocab").toStdString();
    const std::vector<std::string> vocab = readVocab(vocabPath);
    config.vocabSize = static_cast<std::int64_t>(vocab.size());
    config.padTokenId = tokenId(vocab, "[PAD]", 0);
    config.architectures = {"BertForMaskedLM"};
    config.modelType = "bert";
    config.validate();

    // 1. weights (deterministic in the seed)
    printProgress(common.quiet || common.json, "weights", 0, 1);
    Checkpoint ck = randomCheckpoint(config, Task::MaskedLm, seed);
    printProgress(common.quiet || common.json, "weights", 1, 1);

    // 2. outlier dimensions: the same K dims in every LayerNorm of the encoder (embeddings,
    //    attention output, layer output), with gains 12-20 and offsets of either sign, as in
    //    the outlier dims of real BERT checkpoints; the K dims are drawn from the seed.
    std::vector<std::int64_t> dims(static_cast<std::size_t>(config.hiddenSize));
    std::iota(dims.begin(), dims.end(), 0);
    SplitMix rng{seed ^ 0x6F75746C69657273ULL}; // "outliers"
    for (std::size_t i = 0; i < static_cast<std::size_t>(outliers); ++i) {
        const std::size_t j = i + static_cast<std::size_t>(rng.next() % (dims.size() - i));
        std::swap(dims[i], dims[j]);
    }
    dims.resize(static_cast<std::size_t>(outliers));
    std::sort(dims.begin(), dims.end());
    std::vector<float> gains;
    std::vector<float> offsets;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        gains.push_back(static_cast<float>(12.0 + 8.0 * rng.uniform()));
        offsets.push_back(static_cast<float>((rng.uniform() < 0.5 ? -1.0 : 1.0) * (1.0 + 3.0 * rng.uniform())));
    }
    std::vector<std::string> norms = {"bert.embeddings.LayerNorm"};
    for (std::int64_t i = 0; i < config.numHiddenLayers; ++i) {
        norms.push_back("bert.encoder.layer." + std::to_string(i) + ".attention.output.LayerNorm");
        norms.push_back("bert.encoder.layer." + std::to_string(i) + ".output.LayerNorm");
    }
    for (const std::string &norm : norms) {
        float *w = ck.tensors.at(norm + ".weight").mutableData<float>();
        float *b = ck.tensors.at(norm + ".bias").mutableData<float>();
        for (std::size_t i = 0; i < dims.size(); ++i) {
            w[dims[i]] = gains[i];
            b[dims[i]] = offsets[i];
        }
    }

    // 3. --qdq: amax buffers
    std::map<std::string, Tensor> amax;
    const std::int64_t calBatch = 4;
    const std::int64_t calSeq = std::min<std::int64_t>(128, config.maxPositionEmbeddings);
    if (qdqBuffers) {
        // the engine's max calibration (reference §4.2): per-row max |w| for the weights, max |x|
        // over the calibration batch for every other site
        CalibrationOptions calibration;
        calibration.histograms = false;
        Calibrator calibrator(ck, calibration);
        QDQBertModel model(ck, ModelOptions{Task::Base, MaskConstant::FinfoMin, Device{}});
        model.setSiteHooks(calibrator.hooks());
        const std::int64_t cls = tokenId(vocab, "[CLS]", 0);
        const std::int64_t sep = tokenId(vocab, "[SEP]", 0);
        const std::int64_t first = std::min<std::int64_t>(999, config.vocabSize - 1); // past [unused*]
        SplitMix tokens{seed ^ 0x63616C6962ULL};                                      // "calib"
        std::vector<std::int64_t> ids(static_cast<std::size_t>(calBatch * calSeq));
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const auto pos = static_cast<std::int64_t>(i) % calSeq;
            ids[i] = pos == 0 ? cls
                     : pos == calSeq - 1
                         ? sep
                         : first + static_cast<std::int64_t>(tokens.next() %
                                                             static_cast<std::uint64_t>(config.vocabSize - first));
        }
        ForwardInputs in;
        in.inputIds = Tensor::fromValues<std::int64_t>({calBatch, calSeq}, ids);
        printProgress(common.quiet || common.json, "calibrate", 0, 1);
        (void)model.forward(in);
        printProgress(common.quiet || common.json, "calibrate", 1, 1);
        amax = calibrator.amaxTensors(CalibMethod::Max);
    }

    // 4. the folder: staged beside the target, renamed into place when complete
    const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    fs::create_directories(parent);
    const fs::path staging = parent / (out.filename().string() + ".partial");
    std::error_code ec;
    fs::remove_all(staging, ec);
    fs::create_directories(staging);
    try {
        std::vector<std::pair<std::string, const Tensor *>> tensors;
        for (const auto &[name, tensor] : ck.tensors)
            if (std::find(ck.tiedKeys.begin(), ck.tiedKeys.end(), name) == ck.tiedKeys.end())
                tensors.emplace_back(name, &tensor);
        for (const auto &[name, tensor] : amax)
            tensors.emplace_back(name, &tensor);
        std::ostringstream dimsText;
        for (std::size_t i = 0; i < dims.size(); ++i)
            dimsText << (i ? "," : "") << dims[i];
        const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                             {"qdq_synthetic_seed", std::to_string(seed)},
                                                             {"qdq_synthetic_outlier_dims", dimsText.str()}};
        printProgress(common.quiet || common.json, "write", 0, 1);
        writeSafetensors(staging / "model.safetensors", tensors, metadata);
        writeFileAtomically(staging / "config.json", config.toJson());
        fs::copy_file(vocabPath, staging / "vocab.txt", fs::copy_options::overwrite_existing);
        bool cased = false;
        for (const std::string &t : vocab)
            if (!(t.size() > 2 && t.front() == '[' && t.back() == ']'))
                cased = cased || std::any_of(t.begin(), t.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
        const nlohmann::json tokenizerConfig = {{"tokenizer_class", "BertTokenizer"},
                                                {"do_lower_case", !cased},
                                                {"unk_token", "[UNK]"},
                                                {"sep_token", "[SEP]"},
                                                {"pad_token", "[PAD]"},
                                                {"cls_token", "[CLS]"},
                                                {"mask_token", "[MASK]"},
                                                {"model_max_length", config.maxPositionEmbeddings}};
        writeFileAtomically(staging / "tokenizer_config.json", tokenizerConfig.dump(2) + "\n");
        nlohmann::json note = {
            {"generator", "qdq make-synthetic"},
            {"seed", seed},
            {"weights", "uniform with standard deviation 0.02 (BERT's init), LayerNorm 1 / 0; random, not trained"},
            {"outlier_dims", dims},
            {"outlier_gains", gains},
            {"outlier_offsets", offsets},
            {"amax", qdqBuffers
                         ? "weights: per-row max |w| ([out, 1]); activations: max calibration over " +
                               std::to_string(calBatch) + " x " + std::to_string(calSeq) + " random tokens (0-dim)"
                         : "none: every quantizer is dynamic (amax computed per call)"}};
        writeFileAtomically(staging / "synthetic.json", note.dump(2) + "\n");
        printProgress(common.quiet || common.json, "write", 1, 1);
        if (fs::exists(out))
            fs::remove_all(out);
        fs::rename(staging, out);
    } catch (...) {
        fs::remove_all(staging, ec);
        throw;
    }

    std::int64_t parameters = 0;
    for (const auto &[name, tensor] : ck.tensors)
        if (std::find(ck.tiedKeys.begin(), ck.tiedKeys.end(), name) == ck.tiedKeys.end())
            parameters += tensor.numel();
    if (common.json) {
        printJson({{"out", out.string()},
                   {"config", nlohmann::json::parse(config.toJson())},
                   {"parameters", parameters},
                   {"seed", seed},
                   {"outlier_dims", dims},
                   {"amax_buffers", amax.size()}});
    } else if (!common.quiet) {
        std::printf(
            "wrote %s: %lld layers, hidden %lld, %lld heads, intermediate %lld, vocab %lld, %.1f M parameters\n",
            out.string().c_str(), static_cast<long long>(config.numHiddenLayers),
            static_cast<long long>(config.hiddenSize), static_cast<long long>(config.numAttentionHeads),
            static_cast<long long>(config.intermediateSize), static_cast<long long>(config.vocabSize),
            static_cast<double>(parameters) / 1e6);
        if (!dims.empty())
            std::printf("outlier dims %s\n", nlohmann::json(dims).dump().c_str());
        if (qdqBuffers)
            std::printf("%zu _amax buffers (weights per row, activations max-calibrated)\n", amax.size());
    }
    return Ok;
}

const RegisterCommand registerMakeSynthetic({"make-synthetic",
                                             "Write a random deterministic BERT of a given size (HF folder)",
                                             runMakeSynthetic});

} // namespace
} // namespace qdq::cli
