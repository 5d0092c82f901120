// libFuzzer target: the file `qdq run --inputs in.safetensors` reads (app/cli/cmd_run.cpp):
// SafetensorsFile::open on a file path, then ForwardInputs::fromNamed on its tensors (names
// as in the CLI contract: input_ids, attention_mask, ..., past_key_values.i.j, use_cache).
// Every tensor of the inputs is read, so a view outside its storage is caught.
#include "fuzz_support.h"
#include "qdq/errors.h"
#include "qdq/io/safetensors.h"
#include "qdq/model.h"

#include <cstdint>
#include <string_view>

namespace {

void touchDefined(const qdq::Tensor &t)
{
    if (t.defined())
        (void)qdq::fuzz::touch(t);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::filesystem::path &dir = qdq::fuzz::ScratchDir::instance().fresh();
    // the input "@zero" makes in.safetensors a link to /dev/zero (fuzz_support.h, writeFile)
    qdq::fuzz::writeFile(dir, "in.safetensors", std::string_view(reinterpret_cast<const char *>(data), size));
    try {
        const qdq::ForwardInputs inputs =
            qdq::ForwardInputs::fromNamed(qdq::SafetensorsFile::open(dir / "in.safetensors").tensors());
        for (const qdq::Tensor *t :
             {&inputs.inputIds, &inputs.attentionMask, &inputs.tokenTypeIds, &inputs.positionIds, &inputs.headMask,
              &inputs.inputsEmbeds, &inputs.encoderHiddenStates, &inputs.encoderAttentionMask, &inputs.labels,
              &inputs.startPositions, &inputs.endPositions})
            touchDefined(*t);
        for (const auto &layer : inputs.pastKeyValues)
            for (const qdq::Tensor &t : layer)
                touchDefined(t);
    } catch (const qdq::Error &) {
    }
    return 0;
}
