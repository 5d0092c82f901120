#pragma once
// A whitelist unpickler for PyTorch checkpoints. It understands exactly the opcodes and globals
// that torch.save of a state dict emits (protocol 2, plus the protocol-4 forms of the same
// things) and never executes anything: a GLOBAL outside the whitelist is a FormatError naming it,
// calls are recorded as data (Value::Kind::Call) for the torch reader to interpret. Memo size,
// stack size and nesting depth are capped so that hostile input fails fast.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace qdq::io::pickle {

struct Value {
    enum class Kind : std::uint8_t {
        None,
        Bool,
        Int,
        BigInt, // a LONG1 too wide for int64 (PyTorch's legacy magic number); `text` holds its bytes
        Float,
        String, // unicode text
        Bytes,
        Tuple,
        List,
        Dict,       // dict or collections.OrderedDict; items are key, value, key, value, ...
        Global,     // a whitelisted global; `text` is "module.name"
        Call,       // REDUCE of a whitelisted global: `text` is its name, items[0] the argument tuple
        Persistent, // BINPERSID: items[0] is the persistent id
    };
    Kind kind = Kind::None;
    bool boolean = false;
    std::int64_t integer = 0;
    double real = 0.0;
    std::string text;
    std::vector<const Value *> items;
    int depth = 0; // nesting depth, capped by Unpickler::kMaxDepth

    [[nodiscard]] bool isString(std::string_view s) const { return kind == Kind::String && text == s; }
    [[nodiscard]] const char *kindName() const;
};

class Unpickler {
public:
    static constexpr std::size_t kMaxMemo = 1U << 22;
    static constexpr std::size_t kMaxStack = 1U << 22;
    static constexpr int kMaxDepth = 64;
    // Values built and container items added, in all: a state dict of bert-large has a few
    // thousand; the caps keep memory proportional to the input whatever the opcodes repeat.
    static constexpr std::size_t kMaxValues = 1U << 23;
    static constexpr std::size_t kMaxItems = 1U << 24;

    // `name` names the data in messages (file, or archive:entry).
    Unpickler(const std::byte *data, std::size_t size, std::string name);

    // Reads one pickle starting at position() up to and including its STOP opcode. The returned
    // value lives as long as this Unpickler. Throws FormatError naming the file, the byte offset
    // and the problem (truncation, unknown opcode, forbidden global, caps exceeded).
    const Value *load();
    [[nodiscard]] std::size_t position() const noexcept { return m_pos; }

    // True for "module.name" globals that torch.save of a state dict uses.
    static bool isAllowedGlobal(std::string_view qualified);

private:
    Value *make(Value v);
    [[noreturn]] void fail(const std::string &what, std::size_t at) const;

    const std::byte *m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
    std::string m_name;
    std::deque<Value> m_arena;
    std::size_t m_items = 0; // container items in all values (kMaxItems)
};

} // namespace qdq::io::pickle
