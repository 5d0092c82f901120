// The session layer (qdq/session.h): the chains the CLI and the GUI share, written once.
#include "qdq/session.h"

#include "qdq/errors.h"
#include "qdq/io/text_file.h"
#include "qdq/threading.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <mutex>

namespace qdq {

namespace {

// Attention probabilities of the first sequence (first choice for multiple-choice): [h, L, L]
// of its real tokens, per layer.
AttentionMaps firstSequenceAttention(const ForwardOutputs &out, std::int64_t length)
{
    AttentionMaps maps;
    maps.heads = static_cast<int>(out.attentions.front().size(1));
    maps.length = static_cast<int>(length);
    for (const Tensor &a : out.attentions) {
        const Tensor first = a.select(0, 0).slice(1, 0, length).slice(2, 0, length).contiguous();
        maps.layers.push_back(first.toFloatVector());
    }
    return maps;
}

} // namespace

const PrecisionRun *TextRunResult::run(Precision precision) const
{
    for (const PrecisionRun &r : runs)
        if (r.precision == precision)
            return &r;
    return nullptr;
}

struct Session::State {
    std::shared_ptr<const Checkpoint> checkpoint;
    SessionOptions options;
    mutable std::shared_ptr<const Tokenizer> tokenizer; // read on first use
    std::optional<QuantConfig> quant;                   // nullopt: from the checkpoint
    std::uint64_t quantVersion = 0;                     // bumped by setQuantConfig
    struct BuiltModel {
        std::unique_ptr<QDQBertModel> model;
        std::uint64_t quantVersion = 0;
        VersionProfile profile = kDefaultVersionProfile;
        Device device{};
        MaskConstant maskConstant = MaskConstant::FinfoMin;
    };
    std::map<std::pair<Task, Precision>, BuiltModel> models;

    [[nodiscard]] VersionProfile profile() const { return quant ? quant->profile() : kDefaultVersionProfile; }
};

Session::Session(std::shared_ptr<const Checkpoint> checkpoint, SessionOptions options,
                 std::shared_ptr<const Tokenizer> tokenizer)
    : m_state(std::make_unique<State>())
{
    if (!checkpoint)
        throw UnsupportedError("a session needs a checkpoint");
    m_state->checkpoint = std::move(checkpoint);
    m_state->options = options;
    m_state->tokenizer = std::move(tokenizer);
}

Session Session::open(const std::filesystem::path &path, SessionOptions options, Progress *progress)
{
    return Session(std::make_shared<const Checkpoint>(loadCheckpoint(path, progress)), options);
}

Session::~Session() = default;
Session::Session(Session &&) noexcept = default;
Session &Session::operator=(Session &&) noexcept = default;

const Checkpoint &Session::checkpoint() const noexcept
{
    return *m_state->checkpoint;
}

const std::shared_ptr<const Checkpoint> &Session::sharedCheckpoint() const noexcept
{
    return m_state->checkpoint;
}

const Tokenizer &Session::tokenizer() const
{
    return *sharedTokenizer();
}

std::shared_ptr<const Tokenizer> Session::sharedTokenizer() const
{
    if (!m_state->tokenizer)
        m_state->tokenizer = std::make_shared<const Tokenizer>(tokenizerForCheckpoint(*m_state->checkpoint));
    return m_state->tokenizer;
}

Task Session::defaultTask() const
{
    return qdq::defaultTask(*m_state->checkpoint);
}

Device Session::device() const noexcept
{
    return m_state->options.device;
}

void Session::setDevice(Device device)
{
    m_state->options.device = device;
}

MaskConstant Session::maskConstant() const noexcept
{
    return m_state->options.maskConstant;
}

void Session::setMaskConstant(MaskConstant constant)
{
    m_state->options.maskConstant = constant;
}

void Session::setQuantConfig(std::optional<QuantConfig> config)
{
    m_state->quant = std::move(config);
    ++m_state->quantVersion;
}

QuantConfig Session::quantConfig() const
{
    return m_state->quant ? *m_state->quant : QuantConfig::fromCheckpoint(*m_state->checkpoint);
}

QDQBertModel &Session::model(Task task, Precision precision)
{
    State &s = *m_state;
    State::BuiltModel &built = s.models[{task, precision}];
    const bool quantized = precision != Precision::Fp32;
    const VersionProfile profile = s.profile();
    // quantized: the configured quantizers; FP32: all disabled anyway, only the profile counts
    const auto wanted = [&] {
        return quantized && s.quant ? *s.quant : QuantConfig::fromCheckpoint(*s.checkpoint, profile);
    };
    if (!built.model || built.device != s.options.device || built.maskConstant != s.options.maskConstant) {
        built.model.reset();
        ModelOptions options{task};
        options.precision = precision;
        options.maskConstant = s.options.maskConstant;
        options.device = s.options.device;
        options.quant = wanted();
        built.model = std::make_unique<QDQBertModel>(*s.checkpoint, options);
        built.device = s.options.device;
        built.maskConstant = s.options.maskConstant;
    } else if (quantized ? built.quantVersion != s.quantVersion : built.profile != profile) {
        built.model->setQuantConfig(wanted());
    }
    built.quantVersion = s.quantVersion;
    built.profile = profile;
    return *built.model;
}

EncodedText Session::encode(Task task, const std::vector<TextExample> &examples,
                            std::optional<std::size_t> maxLength) const
{
    return encodeForTask(tokenizer(), m_state->checkpoint->config, task, examples, maxLength);
}

PrecisionRun Session::runEncoded(const EncodedText &text, const TextRunRequest &request, Precision precision)
{
    PrecisionRun run;
    run.precision = precision;
    QDQBertModel &m = model(request.task, precision);
    run.profile = m.quantConfig().profile();
    run.device = m_state->options.device;
    run.backend = m.backendName();
    ForwardInputs inputs; // encodeForTask's three tensors, shared
    inputs.inputIds = text.inputs.inputIds.alias();
    inputs.attentionMask = text.inputs.attentionMask.alias();
    inputs.tokenTypeIds = text.inputs.tokenTypeIds.alias();
    inputs.outputAttentions = request.attentions;
    inputs.outputHiddenStates = request.hiddenStates;
    ForwardOutputs out = m.forward(inputs);
    run.results = interpretOutputs(m, out, request.topK, m_state->tokenizer.get(), &text);
    run.milliseconds = out.milliseconds;
    if (request.attentions && !out.attentions.empty() && !text.encodings.empty())
        run.attention = firstSequenceAttention(out, static_cast<std::int64_t>(text.encodings.front().size()));
    if (request.keepOutputs)
        run.outputs = std::move(out);
    return run;
}

TextRunResult Session::runText(const TextRunRequest &request)
{
    TextRunResult result;
    result.task = request.task;
    result.examples = request.examples;
    applyNumThreads();
    const EncodedText text = encode(request.task, request.examples, request.maxLength);
    result.encodings = text.encodings;
    for (Precision precision : request.precisions) {
        try {
            result.runs.push_back(runEncoded(text, request, precision));
        } catch (const CancelledError &) {
            throw;
        } catch (const std::exception &e) {
            PrecisionRun failed;
            failed.precision = precision;
            failed.device = m_state->options.device;
            failed.error = e.what();
            result.runs.push_back(std::move(failed));
        }
    }
    return result;
}

std::vector<std::int64_t> readDataLabels(const std::filesystem::path &path, const std::string &column,
                                         const std::vector<std::string> &id2label)
{
    const std::string file = path.string();
    io::requireRegularFile(file);
    std::ifstream in(path);
    if (!in)
        throw IoError("cannot read", {file, {}, {}});
    std::vector<std::int64_t> labels;
    std::string line;
    int lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        nlohmann::json j;
        try {
            j = io::parseJson(line, file); // depth-limited
        } catch (const FormatError &) {
            j = nlohmann::json(); // reported below as a line without the column
        }
        if (!j.is_object() || !j.contains(column))
            throw FormatError("line " + std::to_string(lineNo) + " has no \"" + column + "\"", {file, {}, column});
        const nlohmann::json &v = j[column];
        if (v.is_number_integer()) {
            labels.push_back(v.get<std::int64_t>());
        } else if (v.is_string()) {
            const auto it = std::find(id2label.begin(), id2label.end(), v.get<std::string>());
            if (it == id2label.end())
                throw FormatError("line " + std::to_string(lineNo) + ": label '" + v.get<std::string>() +
                                      "' is not in the model's id2label",
                                  {file, {}, column});
            labels.push_back(static_cast<std::int64_t>(it - id2label.begin()));
        } else {
            throw FormatError("line " + std::to_string(lineNo) + ": label must be an integer or a string",
                              {file, {}, column});
        }
    }
    return labels;
}

SelectedExamples Session::readExamples(const DataSelection &selection) const
{
    if (selection.path.empty())
        throw IoError("no data file was given");
    if (!selection.labelColumn.empty() && selection.seed)
        throw UnsupportedError("labels are read in file order; they cannot be combined with a shuffle seed",
                               {selection.path.string(), {}, selection.labelColumn});
    SelectedExamples selected;
    selected.examples =
        selectExamples(readCalibrationData(selection.path, selection.data), selection.samples, selection.seed);
    if (!selection.labelColumn.empty()) {
        selected.labels = readDataLabels(selection.path, selection.labelColumn, m_state->checkpoint->config.id2label);
        selected.labels.resize(selected.examples.size(), -1);
    }
    return selected;
}

std::vector<ForwardInputs> Session::tokenize(const std::vector<CalibrationExample> &examples, Task task,
                                             std::int64_t batchSize, std::int64_t maxLength) const
{
    return tokenizeExamples(*m_state->checkpoint, examples, tokenizer(), task, batchSize, maxLength);
}

AnalysisReport Session::analyze(const std::vector<CalibrationExample> &examples, AnalysisOptions options,
                                Progress *progress) const
{
    applyNumThreads();
    if (!options.quant)
        options.quant = quantConfig();
    options.device = m_state->options.device;
    return analyzeQuantization(*m_state->checkpoint, examples, tokenizer(), options, progress);
}

std::unique_ptr<Calibrator> Session::calibrate(const std::vector<CalibrationExample> &examples,
                                               CalibrationOptions options, Progress *progress) const
{
    applyNumThreads();
    options.device = m_state->options.device;
    auto calibrator = std::make_unique<Calibrator>(*m_state->checkpoint, options);
    calibrator->run(examples, tokenizer(), progress);
    return calibrator;
}

RepairResult Session::repair(const std::vector<CalibrationExample> &examples, RepairOptions options,
                             std::int64_t batchSize, std::int64_t maxLength, Progress *progress) const
{
    applyNumThreads();
    if (!options.quant)
        options.quant = quantConfig();
    options.device = m_state->options.device;
    const std::vector<ForwardInputs> batches = tokenize(examples, options.task, batchSize, maxLength);
    return repairQuantization(*m_state->checkpoint, batches, options, progress);
}

void Session::writeRepaired(const RepairResult &result, QuantizedOutput output, const std::string &modelLabel,
                            const std::string &dataLabel, Progress *progress) const
{
    const std::string task(taskName(result.task));
    output.files["repair.json"] = repairToJson(result, task) + "\n";
    output.files["repair.md"] = repairToMarkdown(result, modelLabel, dataLabel, task);
    writeQuantizedCheckpoint(*m_state->checkpoint, result.repaired, output, progress);
}

Session::OnnxScales Session::importOnnxScales(const std::filesystem::path &onnx, const OnnxImportOptions &importOptions,
                                              VersionProfile profile, bool disableMissing, QuantizedOutput output,
                                              Progress *progress) const
{
    const OnnxAmaxImport imported = importOnnxAmax(onnx, importOptions);
    QuantConfig config = QuantConfig::fromCheckpoint(*m_state->checkpoint, profile);
    OnnxScales scales;
    scales.applied = applyOnnxAmax(*m_state->checkpoint, imported, config, disableMissing);
    scales.source = imported.source;
    nlohmann::json report = nlohmann::json::parse(onnxAmaxMappingJson(scales.applied));
    report["onnx"] = imported.source.string();
    report["model"] = m_state->checkpoint->source.string();
    scales.json = report.dump(2);
    output.files["onnx-import.json"] = scales.json + "\n";
    writeQuantizedCheckpoint(*m_state->checkpoint, config, output, progress);
    return scales;
}

} // namespace qdq
