// The LM prediction head that masked-lm and causal-lm share (reference §1.4, §2.1):
// dense + activation, LayerNorm, then the decoder tied to the word embeddings.
#include "model/heads/head.h"

#include "qdq/errors.h"

namespace qdq::model {

std::vector<std::string> lmPredictionTensors()
{
    return {"cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
            "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"};
}

void loadLmPrediction(const HeadLoad &from, HeadWeights &into)
{
    const WeightReader &r = from.reader;
    const std::int64_t hidden = from.config.hiddenSize;
    const std::int64_t vocab = from.config.vocabSize;
    into.lmTransform = r.linear("cls.predictions.transform.dense", hidden, hidden, from.activation);
    into.lmLnGamma = r.weight("cls.predictions.transform.LayerNorm.weight", {hidden});
    into.lmLnBeta = r.weight("cls.predictions.transform.LayerNorm.bias", {hidden});
    // reference §1.4 / §2.1: decoder weight tied to the word embeddings, bias = cls.predictions.bias;
    // safetensors files drop the tied copies
    Linear dec;
    dec.weight = r.has("cls.predictions.decoder.weight") ? r.weight("cls.predictions.decoder.weight", {vocab, hidden})
                                                         : from.wordEmbeddings.alias();
    if (r.has("cls.predictions.bias"))
        dec.bias = r.weight("cls.predictions.bias", {vocab});
    else if (r.has("cls.predictions.decoder.bias"))
        dec.bias = r.weight("cls.predictions.decoder.bias", {vocab});
    else
        throw FormatError("checkpoint has no " + std::string(taskName(from.task)) + " head; use --task base",
                          {r.source(), "cls.predictions.bias", {}});
    into.lmDecoder = std::move(dec);
}

Tensor lmPredictionLogits(const HeadPass &pass)
{
    const HeadWeights &w = pass.weights;
    const Tensor t = pass.run(*w.lmTransform, pass.hidden);
    const Tensor n =
        pass.backend.addLayerNorm(t, Tensor(), w.lmLnGamma, w.lmLnBeta, static_cast<float>(pass.config.layerNormEps));
    return pass.run(*w.lmDecoder, n);
}

} // namespace qdq::model
