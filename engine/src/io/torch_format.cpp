#include "io/torch_format.h"

#include "io/pickle.h"
#include "qdq/errors.h"

#include <cstring>
#include <limits>
#include <map>
#include <optional>

namespace qdq::io {

namespace {

using pickle::Value;
using Kind = Value::Kind;

// The pickled LONG1 magic number 0x1950a86a20f9469cfc6c that opens a legacy checkpoint.
constexpr unsigned char kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                          0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr std::int64_t kLegacyProtocolVersion = 1001;

std::optional<DType> storageDType(const std::string &cls)
{
    static const std::map<std::string, DType> kStorages{
        {"torch.FloatStorage", DType::F32}, {"torch.HalfStorage", DType::F16}, {"torch.BFloat16Storage", DType::BF16},
        {"torch.LongStorage", DType::I64},  {"torch.IntStorage", DType::I32},  {"torch.CharStorage", DType::I8},
        {"torch.ByteStorage", DType::U8},   {"torch.BoolStorage", DType::Bool}};
    const auto it = kStorages.find(cls);
    if (it == kStorages.end())
        return std::nullopt;
    return it->second;
}

struct StorageRef {
    std::string key;
    DType dtype = DType::F32;
    std::int64_t numel = 0;
};

struct TensorSpec {
    std::string name;
    StorageRef storage;
    std::int64_t offset = 0;
    Shape shape;
    Shape strides;
};

class StateDictReader {
public:
    explicit StateDictReader(std::string file) : m_file(std::move(file)) {}

    // The state dict inside `root`: the root itself, or the dict under a "state_dict" / "model"
    // key as training scripts save it.
    std::vector<TensorSpec> read(const Value *root)
    {
        const Value *dict = root;
        if (dict->kind == Kind::Dict && !looksLikeStateDict(dict)) {
            for (const char *wrapper : {"state_dict", "model", "module"}) {
                const Value *inner = lookup(dict, wrapper);
                if (inner && inner->kind == Kind::Dict && looksLikeStateDict(inner)) {
                    dict = inner;
                    break;
                }
            }
        }
        if (dict->kind != Kind::Dict)
            throw FormatError(std::string("the pickle holds a ") + dict->kindName() + ", not a state dict",
                              {m_file, {}, {}});
        std::vector<TensorSpec> out;
        for (std::size_t i = 0; i + 1 < dict->items.size(); i += 2) {
            const Value *key = dict->items[i];
            if (key->kind != Kind::String)
                throw FormatError(std::string("state dict key is a ") + key->kindName() + ", not a string",
                                  {m_file, {}, {}});
            out.push_back(tensor(key->text, dict->items[i + 1]));
        }
        return out;
    }

    const std::map<std::string, StorageRef> &storages() const { return m_storages; }

private:
    static const Value *lookup(const Value *dict, std::string_view key)
    {
        for (std::size_t i = 0; i + 1 < dict->items.size(); i += 2)
            if (dict->items[i]->isString(key))
                return dict->items[i + 1];
        return nullptr;
    }
    static bool looksLikeStateDict(const Value *dict)
    {
        return dict->items.size() >= 2 && dict->items[1]->kind == Kind::Call;
    }

    [[noreturn]] void bad(const std::string &name, const std::string &what) const
    {
        throw FormatError(what, {m_file, name, {}});
    }

    std::int64_t integer(const std::string &name, const Value *v, const char *what) const
    {
        if (v->kind != Kind::Int)
            bad(name, std::string(what) + " is a " + v->kindName() + ", not an int");
        return v->integer;
    }

    Shape intTuple(const std::string &name, const Value *v, const char *what) const
    {
        if (v->kind != Kind::Tuple)
            bad(name, std::string(what) + " is a " + v->kindName() + ", not a tuple");
        Shape out;
        for (const Value *e : v->items) {
            const std::int64_t x = integer(name, e, what);
            if (x < 0)
                bad(name, std::string(what) + " has a negative entry " + std::to_string(x));
            out.push_back(x);
        }
        return out;
    }

    TensorSpec tensor(const std::string &name, const Value *v)
    {
        if (v->kind != Kind::Call)
            bad(name, std::string("value is a ") + v->kindName() + ", not a tensor");
        const Value *args = v->items[0];
        if (v->text == "torch._utils._rebuild_parameter") {
            // _rebuild_parameter(data, requires_grad, backward_hooks)
            if (args->items.size() != 3)
                bad(name, "_rebuild_parameter takes 3 arguments, got " + std::to_string(args->items.size()));
            return tensor(name, args->items[0]);
        }
        if (v->text != "torch._utils._rebuild_tensor_v2")
            bad(name, "value is a call of " + v->text + ", not a tensor");
        // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args->items.size() < 6 || args->items.size() > 7)
            bad(name, "_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(args->items.size()));
        TensorSpec t;
        t.name = name;
        t.storage = storage(name, args->items[0]);
        t.offset = integer(name, args->items[1], "storage offset");
        if (t.offset < 0)
            bad(name, "negative storage offset");
        t.shape = intTuple(name, args->items[2], "size");
        t.strides = intTuple(name, args->items[3], "stride");
        if (t.shape.size() != t.strides.size())
            bad(name, "size " + shapeString(t.shape) + " and stride " + shapeString(t.strides) + " differ in rank");
        return t;
    }

    StorageRef storage(const std::string &name, const Value *v)
    {
        if (v->kind != Kind::Persistent)
            bad(name, std::string("tensor storage is a ") + v->kindName() + ", not a persistent id");
        // zip: ('storage', StorageClass, key, location, numel)
        // legacy: ('storage', StorageClass, key, location, numel, view_metadata)
        const Value *pid = v->items[0];
        if (pid->kind != Kind::Tuple || pid->items.size() < 5 || pid->items.size() > 6 ||
            !pid->items[0]->isString("storage"))
            bad(name, "persistent id is not a ('storage', ...) record");
        const Value *cls = pid->items[1];
        if (cls->kind != Kind::Global)
            bad(name, "storage type is not a storage class");
        const auto dtype = storageDType(cls->text);
        if (!dtype)
            throw UnsupportedError("storage type " + cls->text +
                                       " is not supported (f32, f16, bf16, i64, i32, i8, "
                                       "u8 and bool are)",
                                   {m_file, name, {}});
        if (pid->items[2]->kind != Kind::String)
            bad(name, "storage key is not a string");
        if (pid->items.size() == 6 && pid->items[5]->kind != Kind::None)
            throw UnsupportedError("storage views (pre-1.0 legacy checkpoints) are not supported", {m_file, name, {}});
        StorageRef ref{pid->items[2]->text, *dtype, integer(name, pid->items[4], "storage size")};
        if (ref.numel < 0)
            bad(name, "negative storage size");
        const auto [it, inserted] = m_storages.emplace(ref.key, ref);
        if (!inserted && (it->second.dtype != ref.dtype || it->second.numel != ref.numel))
            bad(name, "storage " + ref.key + " is declared twice with different types or sizes");
        return ref;
    }

    std::string m_file;
    std::map<std::string, StorageRef> m_storages;
};

// Checked extent of a strided view: the largest element index it touches, plus one.
std::int64_t viewExtent(const TensorSpec &t, const std::string &file)
{
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 16;
    std::int64_t hi = t.offset;
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
        if (t.shape[d] == 0)
            return 0;
        const std::int64_t span = t.shape[d] - 1;
        if (span > 0 && t.strides[d] > (kMax - hi) / span)
            throw FormatError("size " + shapeString(t.shape) + " with stride " + shapeString(t.strides) + " overflows",
                              {file, t.name, {}});
        hi += span * t.strides[d];
    }
    return hi + 1;
}

NamedTensors buildTensors(const std::vector<TensorSpec> &specs,
                          const std::map<std::string, std::shared_ptr<Storage>> &storages, const std::string &file)
{
    NamedTensors out;
    out.reserve(specs.size());
    for (const TensorSpec &t : specs) {
        const std::shared_ptr<Storage> &bytes = storages.at(t.storage.key);
        const std::int64_t extent = viewExtent(t, file);
        // A view may not hold more elements than its storage: zero or overlapping strides would
        // let a few bytes of storage stand for any number of elements, and every later copy
        // (contiguous(), a conversion) would allocate and fill that number (SECURITY.md "Limits").
        std::int64_t numel = 0;
        try {
            numel = shapeNumel(t.shape);
        } catch (const ShapeError &e) {
            throw FormatError(e.message(), {file, t.name, {}});
        }
        if (numel > t.storage.numel)
            throw FormatError("tensor " + std::string(dtypeName(t.storage.dtype)) + shapeString(t.shape) +
                                  " with stride " + shapeString(t.strides) + " has " + std::to_string(numel) +
                                  " elements over a storage of " + std::to_string(t.storage.numel) +
                                  " (zero or overlapping strides); checkpoints store each weight in full",
                              {file, t.name, {}});
        if (extent > t.storage.numel)
            throw FormatError("tensor " + std::string(dtypeName(t.storage.dtype)) + shapeString(t.shape) +
                                  " at offset " + std::to_string(t.offset) + " needs " + std::to_string(extent) +
                                  " elements but its storage " + t.storage.key + " has " +
                                  std::to_string(t.storage.numel),
                              {file, t.name, {}});
        const std::size_t elem = dtypeSize(t.storage.dtype);
        const std::size_t byteOffset = static_cast<std::size_t>(t.offset) * elem;
        Tensor view = Tensor::fromStorage(bytes, byteOffset, t.storage.dtype, t.shape, t.strides, t.name);
        const auto addr = reinterpret_cast<std::uintptr_t>(bytes->data()) + byteOffset;
        if (addr % elem != 0)
            view = view.clone(); // misaligned for its dtype (e.g. inside an outer zip): copy
        out.emplace_back(t.name, std::move(view));
    }
    return out;
}

void checkStorageBytes(const StorageRef &ref, std::size_t available, const std::string &where)
{
    const std::size_t elem = dtypeSize(ref.dtype);
    if (static_cast<std::uint64_t>(ref.numel) > available / elem)
        throw FormatError("storage " + ref.key + " declares " + std::to_string(ref.numel) + " " +
                              std::string(dtypeName(ref.dtype)) + " elements but has only " +
                              std::to_string(available) + " bytes (truncated?)",
                          {where, {}, {}});
}

} // namespace

std::string torchZipRoot(const ZipArchive &zip)
{
    for (const ZipArchive::Entry &e : zip.entries()) {
        constexpr std::string_view suffix = "/data.pkl";
        const std::string &n = e.name;
        if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
            const std::string root = n.substr(0, n.size() - suffix.size());
            if (root.find('/') == std::string::npos)
                return root;
        }
    }
    return {};
}

NamedTensors readTorchZip(ZipArchive &zip)
{
    const std::string root = torchZipRoot(zip);
    if (root.empty())
        throw FormatError("zip archive has no <root>/data.pkl: not a PyTorch checkpoint", {zip.name(), {}, {}});
    if (const auto *order = zip.find(root + "/byteorder")) {
        const Bytes b = zip.read(order->name);
        if (asText(*b) != "little")
            throw UnsupportedError("big-endian PyTorch checkpoints are not supported", {zip.name(), {}, {}});
    }
    const Bytes pkl = zip.read(root + "/data.pkl");
    pickle::Unpickler unpickler(pkl->data(), pkl->size(), pkl->origin());
    StateDictReader reader(pkl->origin());
    const std::vector<TensorSpec> specs = reader.read(unpickler.load());

    std::map<std::string, std::shared_ptr<Storage>> storages;
    for (const auto &[key, ref] : reader.storages()) {
        const std::string entry = root + "/data/" + key;
        if (!zip.find(entry))
            throw FormatError("storage entry is missing", {zip.name() + ":" + entry, {}, {}});
        Bytes bytes = zip.read(entry);
        checkStorageBytes(ref, bytes->size(), bytes->origin());
        storages.emplace(key, std::move(bytes));
    }
    return buildTensors(specs, storages, zip.name());
}

bool looksLikeLegacyTorch(const Storage &bytes)
{
    return bytes.size() >= sizeof kLegacyMagic && std::memcmp(bytes.data(), kLegacyMagic, sizeof kLegacyMagic) == 0;
}

bool looksLikePickle(const Storage &bytes)
{
    return bytes.size() >= 2 && static_cast<unsigned char>(bytes.data()[0]) == 0x80 &&
           static_cast<unsigned char>(bytes.data()[1]) <= 5;
}

NamedTensors readTorchLegacy(const Bytes &bytes)
{
    const std::string file = bytes->origin();
    pickle::Unpickler unpickler(bytes->data(), bytes->size(), file);
    // torch/serialization.py _legacy_save: magic number, protocol version, sys info, the object,
    // the list of storage keys, then each storage as an int64 element count and its raw bytes.
    const Value *magic = unpickler.load();
    if (magic->kind != Kind::BigInt || !looksLikeLegacyTorch(*bytes))
        throw FormatError("not a legacy PyTorch checkpoint (wrong magic number)", {file, {}, {}});
    const Value *protocol = unpickler.load();
    if (protocol->kind != Kind::Int || protocol->integer != kLegacyProtocolVersion)
        throw FormatError("unsupported legacy protocol version", {file, {}, {}});
    const Value *sysInfo = unpickler.load();
    if (sysInfo->kind != Kind::Dict)
        throw FormatError("legacy sys_info is not a dict", {file, {}, {}});
    for (std::size_t i = 0; i + 1 < sysInfo->items.size(); i += 2)
        if (sysInfo->items[i]->isString("little_endian") &&
            !(sysInfo->items[i + 1]->kind == Kind::Bool && sysInfo->items[i + 1]->boolean))
            throw UnsupportedError("big-endian PyTorch checkpoints are not supported", {file, {}, {}});
    StateDictReader reader(file);
    const std::vector<TensorSpec> specs = reader.read(unpickler.load());
    const Value *keys = unpickler.load();
    if (keys->kind != Kind::List)
        throw FormatError("legacy storage key list is missing", {file, {}, {}});

    std::map<std::string, std::shared_ptr<Storage>> storages;
    std::size_t pos = unpickler.position();
    for (const Value *k : keys->items) {
        if (k->kind != Kind::String)
            throw FormatError("legacy storage key is not a string", {file, {}, {}});
        const auto ref = reader.storages().find(k->text);
        if (ref == reader.storages().end())
            throw FormatError("legacy storage " + k->text + " is not used by any tensor", {file, {}, {}});
        if (bytes->size() - pos < 8)
            throw FormatError("storage " + k->text + " is truncated (no size)", {file, {}, {}});
        std::int64_t numel = 0;
        std::memcpy(&numel, bytes->data() + pos, 8);
        pos += 8;
        if (numel != ref->second.numel)
            throw FormatError("storage " + k->text + " holds " + std::to_string(numel) + " elements, its tensors say " +
                                  std::to_string(ref->second.numel),
                              {file, {}, {}});
        checkStorageBytes(ref->second, bytes->size() - pos, file);
        const std::size_t n = static_cast<std::size_t>(numel) * dtypeSize(ref->second.dtype);
        storages.emplace(k->text, std::make_shared<StorageSlice>(bytes, pos, n, file));
        pos += n;
    }
    for (const auto &[key, ref] : reader.storages())
        if (!storages.count(key))
            throw FormatError("storage " + key + " has no data", {file, {}, {}});
    return buildTensors(specs, storages, file);
}

} // namespace qdq::io
