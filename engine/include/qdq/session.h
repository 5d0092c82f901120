#pragma once
// The session layer, the top of the engine (design.md "Engine layers"; README "Architecture"):
// one open checkpoint and everything a front end does with it. The CLI (app/cli) and the GUI
// (ui/) both call this API, so each feature's chain -- read the data, pick the examples, tokenize,
// build the model for a task, precision and device, run / analyse / calibrate / repair, write the
// result -- is written once here; a front end gathers options and presents results.
//
//   qdq::Session s = qdq::Session::open("model/");          // checkpoint and its tokenizer
//   s.setQuantConfig(config);                                // quantizers of the qdq / int8 runs
//   qdq::TextRunRequest run{qdq::Task::MaskedLm, {{"Paris is the [MASK] of France."}}};
//   run.precisions = {qdq::Precision::Fp32, qdq::Precision::Int8};
//   qdq::TextRunResult r = s.runText(run);                   // r.runs[1].results[0].topK ...
//   qdq::SelectedExamples data = s.readExamples({"data.txt"});
//   qdq::AnalysisReport report = s.analyze(data.examples, options, &progress);
//
// A Session is used by one thread at a time (the GUI keeps one per worker thread); the models it
// builds are cached per (task, precision) and rebuilt when the device or the quantizers change.

#include "qdq/analysis.h"
#include "qdq/calibration.h"
#include "qdq/calibration_data.h"
#include "qdq/checkpoint.h"
#include "qdq/device.h"
#include "qdq/model.h"
#include "qdq/progress.h"
#include "qdq/quant/onnx_amax.h"
#include "qdq/quant/quant_config.h"
#include "qdq/sensitivity.h"
#include "qdq/text_task.h"
#include "qdq/tokenizer.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qdq {

struct SessionOptions {
    Device device{}; // where the models compute (kernels::createBackend)
    MaskConstant maskConstant = MaskConstant::FinfoMin;
};

// Which examples of a data file a command uses (calibration_data.h formats).
struct DataSelection {
    std::filesystem::path path;
    DataOptions data;
    std::int64_t samples = 0;          // 0: all of them
    std::optional<std::uint64_t> seed; // shuffle first (selectExamples)
    // JSONL key of one label per example (an integer, or a name of the config's id2label); the
    // labels follow file order, so a seed is refused with them.
    std::string labelColumn;
};

struct SelectedExamples {
    std::vector<CalibrationExample> examples;
    std::vector<std::int64_t> labels; // one per example with a label column (-1 past the file's labels)
};

// Text in, task results out, in one or more precisions on the same inputs.
struct TextRunRequest {
    Task task = Task::Base;
    std::vector<TextExample> examples; // multiple-choice: one per choice (encodeForTask)
    std::optional<std::size_t> maxLength;
    int topK = 5;
    bool attentions = false;   // attention maps of the first sequence (PrecisionRun::attention)
    bool hiddenStates = false; // keep hidden_states.{i} in the outputs
    bool keepOutputs = false;  // PrecisionRun::outputs holds every output tensor
    std::vector<Precision> precisions{Precision::Fp32};
};

// One layer's attention probabilities of the first sequence: [heads, L, L] row-major, L = its
// real tokens.
struct AttentionMaps {
    int heads = 0;
    int length = 0;
    std::vector<std::vector<float>> layers;
};

struct PrecisionRun {
    Precision precision = Precision::Fp32;
    VersionProfile profile = kDefaultVersionProfile; // of the model that ran
    Device device{};
    std::string backend; // the backend's name (kernels::Backend::name)
    std::string error;   // runText: set when this precision failed (the others still ran)
    std::vector<TaskResult> results;
    AttentionMaps attention;   // with TextRunRequest::attentions
    ForwardOutputs outputs;    // with TextRunRequest::keepOutputs (else empty)
    double milliseconds = 0.0; // the forward's wall time
};

struct TextRunResult {
    Task task = Task::Base;
    std::vector<TextExample> examples;
    std::vector<Encoding> encodings;
    std::vector<PrecisionRun> runs; // in the requested order

    [[nodiscard]] const PrecisionRun *run(Precision precision) const;
};

class Session {
public:
    // `tokenizer` may be given when the caller has it already; otherwise it is read from the
    // checkpoint on first use (tokenizer()).
    explicit Session(std::shared_ptr<const Checkpoint> checkpoint, SessionOptions options = {},
                     std::shared_ptr<const Tokenizer> tokenizer = nullptr);
    // loadCheckpoint(path) (folder, file or zip). Throws IoError / FormatError naming the file.
    [[nodiscard]] static Session open(const std::filesystem::path &path, SessionOptions options = {},
                                      Progress *progress = nullptr);
    ~Session();
    Session(Session &&) noexcept;
    Session &operator=(Session &&) noexcept;
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    [[nodiscard]] const Checkpoint &checkpoint() const noexcept;
    [[nodiscard]] const std::shared_ptr<const Checkpoint> &sharedCheckpoint() const noexcept;
    // The checkpoint's tokenizer; throws IoError / FormatError when it has no vocabulary.
    [[nodiscard]] const Tokenizer &tokenizer() const;
    [[nodiscard]] std::shared_ptr<const Tokenizer> sharedTokenizer() const;
    // The task a run uses when the user names none (text_task.h defaultTask).
    [[nodiscard]] Task defaultTask() const;

    [[nodiscard]] Device device() const noexcept;
    // The models are rebuilt on that device at their next use.
    void setDevice(Device device);
    [[nodiscard]] MaskConstant maskConstant() const noexcept;
    void setMaskConstant(MaskConstant constant);

    // The quantizers of the qdq and int8 precisions (nullopt: QuantConfig::fromCheckpoint with
    // the default profile). FP32 models follow only its version profile (2.2.x applies
    // `_pre_quant_scale` also with every quantizer disabled, reference §2.1).
    void setQuantConfig(std::optional<QuantConfig> config);
    // The quantizers of the quantized precisions as they are now.
    [[nodiscard]] QuantConfig quantConfig() const;

    // The model for `task` in `precision` on the session's device, built on first use and kept.
    [[nodiscard]] QDQBertModel &model(Task task, Precision precision);

    // The examples encoded for `task` (encodeForTask with the session's tokenizer).
    [[nodiscard]] EncodedText encode(Task task, const std::vector<TextExample> &examples,
                                     std::optional<std::size_t> maxLength = std::nullopt) const;
    // One precision on encoded text; throws what the model throws.
    [[nodiscard]] PrecisionRun runEncoded(const EncodedText &text, const TextRunRequest &request, Precision precision);
    // Every requested precision; a failing precision sets its run's error and the others still
    // run. Throws only when the text cannot be encoded.
    [[nodiscard]] TextRunResult runText(const TextRunRequest &request);

    // --- work on a data file -----------------------------------------------------------------
    [[nodiscard]] SelectedExamples readExamples(const DataSelection &selection) const;
    // tokenizeExamples (analysis.h) with the session's checkpoint and tokenizer.
    [[nodiscard]] std::vector<ForwardInputs> tokenize(const std::vector<CalibrationExample> &examples, Task task,
                                                      std::int64_t batchSize, std::int64_t maxLength) const;
    // analyzeQuantization on the session's device; options.quant defaults to quantConfig().
    [[nodiscard]] AnalysisReport analyze(const std::vector<CalibrationExample> &examples, AnalysisOptions options,
                                         Progress *progress = nullptr) const;
    // Runs a Calibrator over the examples (FP32 activations on the session's device, reference
    // §4.1; the statistics are collected on the host). It references the
    // session's checkpoint: keep the session alive while it is used.
    [[nodiscard]] std::unique_ptr<Calibrator> calibrate(const std::vector<CalibrationExample> &examples,
                                                        CalibrationOptions options, Progress *progress = nullptr) const;
    // repairQuantization over the examples in batches on the session's device; options.quant
    // defaults to quantConfig().
    [[nodiscard]] RepairResult repair(const std::vector<CalibrationExample> &examples, RepairOptions options,
                                      std::int64_t batchSize, std::int64_t maxLength,
                                      Progress *progress = nullptr) const;
    // The repaired checkpoint with repair.json and repair.md (atomic, writeQuantizedCheckpoint).
    // modelLabel / dataLabel name the inputs in repair.md.
    void writeRepaired(const RepairResult &result, QuantizedOutput output, const std::string &modelLabel,
                       const std::string &dataLabel, Progress *progress = nullptr) const;
    // A Q/DQ ONNX file's scales applied to the checkpoint's quantizers (QuantConfig::fromCheckpoint
    // under `profile`) and written as a checkpoint with onnx-import.json (the mapping report with
    // the "onnx" and "model" paths); returns the mapping and that report.
    struct OnnxScales {
        OnnxAmaxApplied applied;
        std::filesystem::path source; // the ONNX file
        std::string json;             // onnx-import.json
    };
    [[nodiscard]] OnnxScales importOnnxScales(const std::filesystem::path &onnx, const OnnxImportOptions &importOptions,
                                              VersionProfile profile, bool disableMissing, QuantizedOutput output,
                                              Progress *progress = nullptr) const;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

// Labels of a JSONL data file, one per non-blank line in file order: integers, or names looked
// up in `id2label`. Throws FormatError naming the file, line and column.
[[nodiscard]] std::vector<std::int64_t> readDataLabels(const std::filesystem::path &path, const std::string &column,
                                                       const std::vector<std::string> &id2label);

} // namespace qdq
