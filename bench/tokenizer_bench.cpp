// Tokenizer throughput, single-threaded: ~10 MB of deterministic English-like text through
// Tokenizer::tokenize in paragraphs, both flavours. Usage: qdq_bench_tokenizer [vocab.txt] [MB]
#include "qdq/tokenizer.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

// Paragraphs of words drawn from a fixed list by a fixed-seed LCG, with capitals, commas,
// full stops, digits and the odd accented word, as English prose has.
std::vector<std::string> synthesize(std::size_t bytes)
{
    static const char *const words[] = {"the",
                                        "of",
                                        "and",
                                        "to",
                                        "in",
                                        "a",
                                        "is",
                                        "that",
                                        "for",
                                        "it",
                                        "as",
                                        "was",
                                        "with",
                                        "be",
                                        "by",
                                        "on",
                                        "not",
                                        "he",
                                        "this",
                                        "are",
                                        "or",
                                        "his",
                                        "from",
                                        "at",
                                        "which",
                                        "but",
                                        "have",
                                        "an",
                                        "had",
                                        "they",
                                        "you",
                                        "were",
                                        "their",
                                        "one",
                                        "all",
                                        "we",
                                        "can",
                                        "her",
                                        "has",
                                        "there",
                                        "been",
                                        "if",
                                        "more",
                                        "when",
                                        "will",
                                        "would",
                                        "who",
                                        "so",
                                        "model",
                                        "quantization",
                                        "calibration",
                                        "transformer",
                                        "attention",
                                        "embedding",
                                        "layer",
                                        "network",
                                        "performance",
                                        "unbelievable",
                                        "internationalization",
                                        "tokenizer",
                                        "accuracy",
                                        "inference",
                                        "precision",
                                        "histogram",
                                        "percentile",
                                        "entropy",
                                        "divergence",
                                        "sequence",
                                        "vocabulary",
                                        "café",
                                        "naïve",
                                        "résumé",
                                        "don't",
                                        "it's",
                                        "state-of-the-art",
                                        "e-mail",
                                        "(see",
                                        "below)",
                                        "\"quoted\""};
    constexpr std::size_t wordCount = sizeof(words) / sizeof(words[0]);
    std::uint64_t state = 0x9E3779B97F4A7C15ULL;
    auto next = [&state]() {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(state >> 33);
    };
    std::vector<std::string> paragraphs;
    std::size_t total = 0;
    while (total < bytes) {
        std::string p;
        bool sentenceStart = true;
        while (p.size() < 2000) {
            std::string w = words[next() % wordCount];
            if (next() % 40 == 0)
                w = std::to_string(next() % 100000);
            if (sentenceStart && w[0] >= 'a' && w[0] <= 'z')
                w[0] = static_cast<char>(w[0] - 32);
            sentenceStart = false;
            p += w;
            const std::uint32_t r = next() % 100;
            if (r < 7) {
                p += ". ";
                sentenceStart = true;
            } else if (r < 12) {
                p += ", ";
            } else {
                p += ' ';
            }
        }
        total += p.size();
        paragraphs.push_back(std::move(p));
    }
    return paragraphs;
}

} // namespace

int main(int argc, char **argv)
{
    const std::string vocab = argc > 1 ? argv[1] : QDQ_SHARED_DIR "/models/vocab-bert-base-uncased/vocab.txt";
    const double megabytes = argc > 2 ? std::atof(argv[2]) : 10.0;
    try {
        const std::vector<std::string> paragraphs = synthesize(static_cast<std::size_t>(megabytes * 1e6));
        std::size_t chars = 0;
        std::size_t bytes = 0;
        for (const std::string &p : paragraphs) {
            bytes += p.size();
            for (const char c : p)
                chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
        }
        std::printf("text: %zu paragraphs, %zu bytes, %zu code points\n", paragraphs.size(), bytes, chars);
        for (const qdq::TokenizerFlavor flavor : {qdq::TokenizerFlavor::Fast, qdq::TokenizerFlavor::Slow}) {
            qdq::TokenizerOptions options;
            options.flavor = flavor;
            const qdq::Tokenizer tokenizer = qdq::Tokenizer::fromVocabFile(vocab, options);
            const auto start = std::chrono::steady_clock::now();
            std::size_t tokens = 0;
            for (const std::string &p : paragraphs)
                tokens += tokenizer.tokenize(p).size();
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("%s: %zu tokens in %.3f s: %.2f M chars/s, %.2f M tokens/s\n",
                        flavor == qdq::TokenizerFlavor::Fast ? "fast" : "slow", tokens, seconds,
                        static_cast<double>(chars) / seconds / 1e6, static_cast<double>(tokens) / seconds / 1e6);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "qdq_bench_tokenizer: %s\n", e.what());
        return 1;
    }
    return 0;
}
