#include "io/pickle.h"

#include "qdq/errors.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>

namespace qdq::io::pickle {

namespace {

// Globals that torch.save of a state dict (zip and legacy formats) refers to. Storage classes
// for dtypes the engine has no type for (double, short, complex) are allowed here so the torch
// reader can say "unsupported dtype" instead of "forbidden global".
constexpr std::array<std::string_view, 17> kAllowedGlobals{
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch.FloatStorage",
    "torch.HalfStorage",
    "torch.BFloat16Storage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    "torch.DoubleStorage",
    "torch.ShortStorage",
    "torch.ComplexFloatStorage",
    "torch.ComplexDoubleStorage",
    "torch.QInt8Storage",
    "torch.QUInt8Storage",
};

enum Op : std::uint8_t {
    MARK = '(',
    STOP = '.',
    BININT = 'J',
    BININT1 = 'K',
    BININT2 = 'M',
    NONE = 'N',
    BINPERSID = 'Q',
    REDUCE = 'R',
    BINUNICODE = 'X',
    BINBYTES = 'B',
    SHORT_BINBYTES = 'C',
    APPEND = 'a',
    BUILD = 'b',
    GLOBAL = 'c',
    APPENDS = 'e',
    BINGET = 'h',
    LONG_BINGET = 'j',
    EMPTY_LIST = ']',
    BINPUT = 'q',
    LONG_BINPUT = 'r',
    SETITEM = 's',
    TUPLE = 't',
    SETITEMS = 'u',
    EMPTY_TUPLE = ')',
    EMPTY_DICT = '}',
    BINFLOAT = 'G',
    PROTO = 0x80,
    TUPLE1 = 0x85,
    TUPLE2 = 0x86,
    TUPLE3 = 0x87,
    NEWTRUE = 0x88,
    NEWFALSE = 0x89,
    LONG1 = 0x8a,
    SHORT_BINUNICODE = 0x8c,
    BINUNICODE8 = 0x8d,
    STACK_GLOBAL = 0x93,
    MEMOIZE = 0x94,
    FRAME = 0x95,
};

std::string hexByte(std::uint8_t b)
{
    static const char *digits = "0123456789abcdef";
    return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

} // namespace

const char *Value::kindName() const
{
    switch (kind) {
    case Kind::None:
        return "None";
    case Kind::Bool:
        return "bool";
    case Kind::Int:
    case Kind::BigInt:
        return "int";
    case Kind::Float:
        return "float";
    case Kind::String:
        return "str";
    case Kind::Bytes:
        return "bytes";
    case Kind::Tuple:
        return "tuple";
    case Kind::List:
        return "list";
    case Kind::Dict:
        return "dict";
    case Kind::Global:
        return "global";
    case Kind::Call:
        return "call";
    case Kind::Persistent:
        return "persistent id";
    }
    return "?";
}

bool Unpickler::isAllowedGlobal(std::string_view qualified)
{
    return std::find(kAllowedGlobals.begin(), kAllowedGlobals.end(), qualified) != kAllowedGlobals.end();
}

Unpickler::Unpickler(const std::byte *data, std::size_t size, std::string name)
    : m_data(data), m_size(size), m_name(std::move(name))
{
}

Value *Unpickler::make(Value v)
{
    if (m_arena.size() >= kMaxValues)
        fail("more than " + std::to_string(kMaxValues) + " values", m_pos);
    m_items += v.items.size();
    if (m_items > kMaxItems)
        fail("more than " + std::to_string(kMaxItems) + " container items", m_pos);
    return &m_arena.emplace_back(std::move(v));
}

void Unpickler::fail(const std::string &what, std::size_t at) const
{
    throw FormatError("pickle: " + what + " at byte " + std::to_string(at), {m_name, {}, {}});
}

const Value *Unpickler::load()
{
    std::vector<Value *> stack;
    std::vector<std::size_t> marks;
    std::unordered_map<std::uint32_t, Value *> memo;

    auto need = [&](std::size_t n, std::size_t at) {
        if (n > m_size - m_pos)
            fail("data is truncated (needs " + std::to_string(n) + " more bytes)", at);
    };
    auto readU = [&](std::size_t n, std::size_t at) {
        need(n, at);
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v |= static_cast<std::uint64_t>(m_data[m_pos + i]) << (8 * i);
        m_pos += n;
        return v;
    };
    auto readBytes = [&](std::uint64_t n, std::size_t at) {
        if (n > m_size - m_pos)
            fail("a " + std::to_string(n) + "-byte string runs past the end of the data", at);
        std::string s(reinterpret_cast<const char *>(m_data) + m_pos, static_cast<std::size_t>(n));
        m_pos += static_cast<std::size_t>(n);
        return s;
    };
    auto readLine = [&](std::size_t at) {
        const auto *begin = reinterpret_cast<const char *>(m_data) + m_pos;
        const auto *nl =
            static_cast<const char *>(std::memchr(begin, '\n', std::min<std::size_t>(m_size - m_pos, 256)));
        if (!nl)
            fail("GLOBAL name is unterminated or longer than 256 bytes", at);
        std::string s(begin, nl);
        m_pos += s.size() + 1;
        return s;
    };
    auto push = [&](Value *v, std::size_t at) {
        if (stack.size() >= kMaxStack)
            fail("stack grows beyond " + std::to_string(kMaxStack) + " items", at);
        stack.push_back(v);
    };
    auto pop = [&](std::size_t at) {
        if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
            fail("stack underflow", at);
        Value *v = stack.back();
        stack.pop_back();
        return v;
    };
    auto popMark = [&](std::size_t at) {
        if (marks.empty())
            fail("no MARK to pop to", at);
        const std::size_t m = marks.back();
        marks.pop_back();
        std::vector<Value *> items(stack.begin() + static_cast<std::ptrdiff_t>(m), stack.end());
        stack.resize(m);
        return items;
    };
    auto container = [&](Value::Kind kind, std::vector<Value *> children, std::size_t at) {
        Value v;
        v.kind = kind;
        int depth = 0;
        for (const Value *c : children)
            depth = std::max(depth, c->depth);
        v.depth = depth + 1;
        if (v.depth > kMaxDepth)
            fail("data nests deeper than " + std::to_string(kMaxDepth) + " levels (recursion bomb?)", at);
        v.items.assign(children.begin(), children.end());
        return make(std::move(v));
    };
    auto addTo = [&](Value *target, const std::vector<Value *> &children, Value::Kind expected, std::size_t at) {
        if (target->kind != expected)
            fail(std::string("cannot add items to a ") + target->kindName(), at);
        for (Value *c : children) {
            if (c == target)
                fail("a container that contains itself", at);
            target->depth = std::max(target->depth, c->depth + 1);
            if (target->depth > kMaxDepth)
                fail("data nests deeper than " + std::to_string(kMaxDepth) + " levels (recursion bomb?)", at);
            if (++m_items > kMaxItems)
                fail("more than " + std::to_string(kMaxItems) + " container items", at);
            target->items.push_back(c);
        }
    };
    auto memoPut = [&](std::uint64_t key, std::size_t at) {
        if (stack.empty())
            fail("memo store with an empty stack", at);
        if (memo.size() >= kMaxMemo && !memo.count(static_cast<std::uint32_t>(key)))
            fail("memo grows beyond " + std::to_string(kMaxMemo) + " entries", at);
        memo[static_cast<std::uint32_t>(key)] = stack.back();
    };
    auto memoGet = [&](std::uint64_t key, std::size_t at) {
        const auto it = memo.find(static_cast<std::uint32_t>(key));
        if (it == memo.end())
            fail("memo entry " + std::to_string(key) + " was never stored", at);
        push(it->second, at);
    };
    auto global = [&](const std::string &module, const std::string &name, std::size_t at) {
        const std::string qualified = module + "." + name;
        if (!isAllowedGlobal(qualified))
            throw FormatError("pickle refers to the global '" + qualified +
                                  "', which is not allowed (only PyTorch tensor-rebuild globals are; nothing was "
                                  "executed) at byte " +
                                  std::to_string(at),
                              {m_name, {}, {}});
        Value v;
        v.kind = Value::Kind::Global;
        v.text = qualified;
        push(make(std::move(v)), at);
    };
    auto scalar = [&](Value v, std::size_t at) { push(make(std::move(v)), at); };

    while (true) {
        const std::size_t at = m_pos;
        if (m_pos >= m_size)
            fail("data is truncated (no STOP opcode)", at);
        const auto op = static_cast<std::uint8_t>(m_data[m_pos++]);
        switch (op) {
        case PROTO: {
            const auto version = readU(1, at);
            if (version > 5)
                fail("unsupported protocol " + std::to_string(version), at);
            break;
        }
        case FRAME:
            (void)readU(8, at); // frames only group opcodes; the stream is read linearly anyway
            break;
        case STOP: {
            if (stack.size() != 1 || !marks.empty())
                fail("STOP with " + std::to_string(stack.size()) + " values on the stack", at);
            return stack.back();
        }
        case MARK:
            if (marks.size() >= kMaxStack)
                fail("too many MARKs", at);
            marks.push_back(stack.size());
            break;
        case NONE:
            scalar(Value{}, at);
            break;
        case NEWTRUE:
        case NEWFALSE: {
            Value v;
            v.kind = Value::Kind::Bool;
            v.boolean = op == NEWTRUE;
            scalar(std::move(v), at);
            break;
        }
        case BININT:
        case BININT1:
        case BININT2: {
            const std::size_t n = op == BININT ? 4 : op == BININT1 ? 1 : 2;
            const std::uint64_t raw = readU(n, at);
            Value v;
            v.kind = Value::Kind::Int;
            v.integer = op == BININT ? static_cast<std::int32_t>(static_cast<std::uint32_t>(raw))
                                     : static_cast<std::int64_t>(raw);
            scalar(std::move(v), at);
            break;
        }
        case LONG1: {
            const auto n = readU(1, at);
            std::string bytes = readBytes(n, at);
            Value v;
            if (n <= 8) {
                std::uint64_t raw = 0;
                for (std::size_t i = 0; i < n; ++i)
                    raw |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
                if (n > 0 && n < 8 && (static_cast<unsigned char>(bytes[n - 1]) & 0x80))
                    raw |= ~std::uint64_t{0} << (8 * n); // sign-extend two's complement
                v.kind = Value::Kind::Int;
                v.integer = static_cast<std::int64_t>(raw);
            } else {
                v.kind = Value::Kind::BigInt;
                v.text = std::move(bytes);
            }
            scalar(std::move(v), at);
            break;
        }
        case BINFLOAT: {
            const std::uint64_t raw = readU(8, at);
            // big-endian IEEE double
            std::uint64_t swapped = 0;
            for (int i = 0; i < 8; ++i)
                swapped |= ((raw >> (8 * i)) & 0xff) << (8 * (7 - i));
            Value v;
            v.kind = Value::Kind::Float;
            std::memcpy(&v.real, &swapped, 8);
            scalar(std::move(v), at);
            break;
        }
        case BINUNICODE:
        case SHORT_BINUNICODE:
        case BINUNICODE8:
        case BINBYTES:
        case SHORT_BINBYTES: {
            const std::size_t n = op == SHORT_BINUNICODE || op == SHORT_BINBYTES ? 1 : op == BINUNICODE8 ? 8 : 4;
            const std::uint64_t len = readU(n, at);
            Value v;
            v.kind = op == BINBYTES || op == SHORT_BINBYTES ? Value::Kind::Bytes : Value::Kind::String;
            v.text = readBytes(len, at);
            scalar(std::move(v), at);
            break;
        }
        case EMPTY_TUPLE:
            push(container(Value::Kind::Tuple, {}, at), at);
            break;
        case EMPTY_LIST:
            push(container(Value::Kind::List, {}, at), at);
            break;
        case EMPTY_DICT:
            push(container(Value::Kind::Dict, {}, at), at);
            break;
        case TUPLE:
            push(container(Value::Kind::Tuple, popMark(at), at), at);
            break;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
            const std::size_t n = static_cast<std::size_t>(op - TUPLE1) + 1;
            std::vector<Value *> items(n);
            for (std::size_t i = n; i-- > 0;)
                items[i] = pop(at);
            push(container(Value::Kind::Tuple, std::move(items), at), at);
            break;
        }
        case APPEND: {
            Value *item = pop(at);
            if (stack.empty())
                fail("APPEND without a list", at);
            addTo(stack.back(), {item}, Value::Kind::List, at);
            break;
        }
        case APPENDS: {
            std::vector<Value *> items = popMark(at);
            if (stack.empty())
                fail("APPENDS without a list", at);
            addTo(stack.back(), items, Value::Kind::List, at);
            break;
        }
        case SETITEM: {
            Value *value = pop(at);
            Value *key = pop(at);
            if (stack.empty())
                fail("SETITEM without a dict", at);
            addTo(stack.back(), {key, value}, Value::Kind::Dict, at);
            break;
        }
        case SETITEMS: {
            std::vector<Value *> items = popMark(at);
            if (items.size() % 2 != 0)
                fail("SETITEMS with an odd number of items", at);
            if (stack.empty())
                fail("SETITEMS without a dict", at);
            addTo(stack.back(), items, Value::Kind::Dict, at);
            break;
        }
        case BINPUT:
            memoPut(readU(1, at), at);
            break;
        case LONG_BINPUT:
            memoPut(readU(4, at), at);
            break;
        case MEMOIZE:
            memoPut(memo.size(), at);
            break;
        case BINGET:
            memoGet(readU(1, at), at);
            break;
        case LONG_BINGET:
            memoGet(readU(4, at), at);
            break;
        case GLOBAL: {
            std::string module = readLine(at);
            std::string name = readLine(at);
            global(module, name, at);
            break;
        }
        case STACK_GLOBAL: {
            Value *name = pop(at);
            Value *module = pop(at);
            if (module->kind != Value::Kind::String || name->kind != Value::Kind::String)
                fail("STACK_GLOBAL needs two strings", at);
            global(module->text, name->text, at);
            break;
        }
        case BINPERSID: {
            Value *pid = pop(at);
            push(container(Value::Kind::Persistent, {pid}, at), at);
            break;
        }
        case REDUCE: {
            Value *args = pop(at);
            Value *callable = pop(at);
            if (callable->kind != Value::Kind::Global)
                fail(std::string("REDUCE of a ") + callable->kindName() + ", not a global", at);
            if (args->kind != Value::Kind::Tuple)
                fail("REDUCE arguments are not a tuple", at);
            if (callable->text == "collections.OrderedDict") {
                if (!args->items.empty())
                    fail("OrderedDict called with arguments", at);
                push(container(Value::Kind::Dict, {}, at), at);
                break;
            }
            if (callable->text.find("Storage") != std::string::npos)
                fail("storage class " + callable->text + " called directly", at);
            Value *call = container(Value::Kind::Call, {args}, at);
            call->text = callable->text;
            push(call, at);
            break;
        }
        case BUILD: {
            // torch.save's OrderedDict carries its `_metadata` attribute as BUILD state; the
            // state is validated structurally but not needed.
            Value *state = pop(at);
            if (stack.empty())
                fail("BUILD without an object", at);
            const Value *target = stack.back();
            if (target->kind != Value::Kind::Dict && target->kind != Value::Kind::Call)
                fail(std::string("BUILD on a ") + target->kindName(), at);
            if (state->kind != Value::Kind::Dict && state->kind != Value::Kind::None &&
                state->kind != Value::Kind::Tuple)
                fail(std::string("BUILD state is a ") + state->kindName(), at);
            break;
        }
        default:
            fail("opcode " + hexByte(op) + " is not one torch.save of a state dict emits", at);
        }
    }
}

} // namespace qdq::io::pickle
