// qdq export-onnx: the model + head with Q/DQ pairs at the enabled quantizer sites, for
// TensorRT (docs/qdqbert-reference.md §3.7; engine: qdq/io/onnx_export.h). The quant options
// (--disable-quantizer, --amax, --profile, ...) edit what is exported: every enabled site gets a
// Q/DQ pair. An explicit --precision fp32 disables every quantizer (a plain FP32 graph); qdq and
// int8 both export the Q/DQ form (TensorRT chooses its own kernels).
#include "cli/cli.h"
#include "cli/quant_options.h"

#include "qdq/checkpoint.h"
#include "qdq/io/onnx_export.h"
#include "qdq/text_task.h"

#include <cstdio>

namespace qdq::cli {
namespace {

int runExportOnnx(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription("Export the model with Q/DQ pairs at the enabled quantizer sites to ONNX "
                                     "(opset 13, dynamic batch and sequence axes) for TensorRT.");
    addCommonOptions(parser);
    parser.addOption({"model", "Checkpoint folder or file.", "P"});
    parser.addOption(
        {"task", "Head to export (default: the checkpoint's architecture, else its first head, else base).", "TASK"});
    parser.addOption({"out", "Output file (default: model.onnx).", "FILE", "model.onnx"});
    parser.addOption({"weights",
                      "Quantized weights as int8 initializers + DequantizeLinear (int8, what TensorRT expects) or "
                      "as FP32 initializers + QuantizeLinear/DequantizeLinear (fp32).",
                      "FORM", "int8"});
    parser.addOption({"legacy-mask", "Additive attention mask -10000 instead of finfo(f32).min (reference §5.2)."});
    addQuantOptions(parser);
    const CommonOptions common = parseArgs(parser, args, "export-onnx");
    const std::string taskText = parser.value("task").toStdString();
    std::optional<Task> task = taskFromName(taskText);
    if (parser.isSet("task") && !task)
        throw UsageError("--task: unknown task '" + taskText + "'");
    const std::string form = parser.value("weights").toStdString();
    if (form != "int8" && form != "fp32")
        throw UsageError("--weights expects int8 or fp32, got '" + form + "'");
    const Checkpoint checkpoint = loadCheckpoint(requireOption(parser, "model").toStdString());
    if (!task)
        task = defaultTask(checkpoint); // config.json's architectures first
    ModelOptions modelOptions;
    applyQuantOptions(parser, checkpoint, modelOptions);
    if (parser.isSet("precision") && modelOptions.precision == Precision::Fp32)
        modelOptions.quant->disableAll();
    OnnxExportOptions options;
    options.task = *task;
    options.weights = form == "int8" ? OnnxWeightForm::Int8 : OnnxWeightForm::Fp32QDQ;
    options.maskConstant = parser.isSet("legacy-mask") ? MaskConstant::Legacy : MaskConstant::FinfoMin;
    const std::string out = parser.value("out").toStdString();
    printProgress(common.quiet, "export-onnx", 0, 1);
    const OnnxExportSummary s = exportOnnx(checkpoint, *modelOptions.quant, options, out);
    printProgress(common.quiet, "export-onnx", 1, 1);
    if (common.json) {
        nlohmann::json sites = nlohmann::json::array();
        for (const QuantizerSite &site : s.sites)
            sites.push_back(site.modulePath("bert."));
        printJson({{"model", checkpoint.source.string()},
                   {"out", out},
                   {"task", taskName(*task)},
                   {"weights", onnxWeightFormName(options.weights)},
                   {"opset", s.opset},
                   {"nodes", s.nodes},
                   {"initializers", s.initializers},
                   {"quantize_nodes", s.quantizeNodes},
                   {"dequantize_nodes", s.dequantizeNodes},
                   {"inputs", s.inputs},
                   {"outputs", s.outputs},
                   {"bytes", s.bytes},
                   {"sites", sites}});
    } else {
        std::printf("wrote %s: opset %lld, %lld nodes, %lld initializers, %zu Q/DQ sites (%s weights), %llu "
                    "bytes\n",
                    out.c_str(), static_cast<long long>(s.opset), static_cast<long long>(s.nodes),
                    static_cast<long long>(s.initializers), s.sites.size(),
                    std::string(onnxWeightFormName(options.weights)).c_str(), static_cast<unsigned long long>(s.bytes));
    }
    return Ok;
}

const RegisterCommand
    registerExportOnnx({"export-onnx", "Export to ONNX with Q/DQ at the enabled quantizers (TensorRT)", runExportOnnx});

} // namespace
} // namespace qdq::cli
