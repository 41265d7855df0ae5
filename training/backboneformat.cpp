#include "training/backboneformat.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace magpie::training {

namespace {

const char kMagic[8] = {'M', 'G', 'P', 'B', 'B', 'N', '0', '1'};

struct Writer
{
    std::string buf;
    void i32(std::int32_t v) { buf.append(reinterpret_cast<const char *>(&v), 4); }
    void f32(float v) { buf.append(reinterpret_cast<const char *>(&v), 4); }
    void str(const std::string &s) { i32(static_cast<std::int32_t>(s.size())); buf += s; }
    void floats(const std::vector<float> &v)
    {
        i32(static_cast<std::int32_t>(v.size()));
        buf.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
    }
};

struct Reader
{
    const char *p;
    const char *end;
    bool ok = true;
    bool take(void *dst, std::size_t n)
    {
        if (!ok || static_cast<std::size_t>(end - p) < n)
            return ok = false;
        std::memcpy(dst, p, n);
        p += n;
        return true;
    }
    std::int32_t i32() { std::int32_t v = 0; take(&v, 4); return v; }
    float f32() { float v = 0; take(&v, 4); return v; }
    std::string str()
    {
        const std::int32_t n = i32();
        if (n < 0 || n > (1 << 20)) { ok = false; return {}; }
        std::string s(static_cast<std::size_t>(n), '\0');
        take(s.data(), s.size());
        return s;
    }
    std::vector<float> floats()
    {
        const std::int32_t n = i32();
        if (n < 0 || n > (1 << 28)) { ok = false; return {}; }
        std::vector<float> v(static_cast<std::size_t>(n));
        take(v.data(), v.size() * sizeof(float));
        return v;
    }
};

} // namespace

std::uint64_t fnv1a64(const void *data, std::size_t size, std::uint64_t h)
{
    const auto *b = static_cast<const unsigned char *>(data);
    for (std::size_t i = 0; i < size; ++i) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

bool writeBackbone(const BackboneSpec &spec, const std::string &path, std::string *error)
{
    Writer w;
    w.buf.append(kMagic, 8);
    w.str(spec.name);
    w.str(spec.provenance);
    w.i32(spec.inputSize);
    w.f32(spec.inputScale);
    w.f32(spec.inputShift);
    w.i32(spec.poolGrid);
    w.i32(static_cast<std::int32_t>(spec.ops.size()));
    for (const ConvOp &op : spec.ops) {
        w.str(op.name);
        for (int v : {op.inChannels, op.outChannels, op.kernel, op.stride, op.groups, op.padTop,
                      op.padBottom, op.padLeft, op.padRight, op.relu6 ? 1 : 0, op.addFrom})
            w.i32(v);
        w.floats(op.weight);
        w.floats(op.bias);
        w.floats(op.gamma);
        w.floats(op.beta);
        w.floats(op.mean);
        w.floats(op.var);
        w.f32(op.epsilon);
    }
    const std::uint64_t sum = fnv1a64(w.buf.data(), w.buf.size());
    w.buf.append(reinterpret_cast<const char *>(&sum), 8);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(w.buf.data(), static_cast<std::streamsize>(w.buf.size()));
        if (!out) {
            if (error) *error = "cannot write " + tmp;
            return false;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        if (error) *error = "cannot rename " + tmp + " to " + path;
        return false;
    }
    return true;
}

bool readBackbone(const std::string &path, BackboneSpec *spec, std::string *error)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (error) *error = "cannot open backbone file " + path;
        return false;
    }
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < 16 || std::memcmp(data.data(), kMagic, 8) != 0) {
        if (error) *error = path + " is not a Magpie backbone file";
        return false;
    }
    std::uint64_t sum = 0;
    std::memcpy(&sum, data.data() + data.size() - 8, 8);
    if (fnv1a64(data.data(), data.size() - 8) != sum) {
        if (error) *error = path + ": checksum mismatch (corrupt or truncated file)";
        return false;
    }
    Reader r{data.data() + 8, data.data() + data.size() - 8};
    BackboneSpec s;
    s.name = r.str();
    s.provenance = r.str();
    s.inputSize = r.i32();
    s.inputScale = r.f32();
    s.inputShift = r.f32();
    s.poolGrid = r.i32();
    const std::int32_t n = r.i32();
    for (std::int32_t i = 0; r.ok && i < n && i < 10000; ++i) {
        ConvOp op;
        op.name = r.str();
        int *fields[] = {&op.inChannels, &op.outChannels, &op.kernel, &op.stride, &op.groups, &op.padTop,
                         &op.padBottom, &op.padLeft, &op.padRight};
        for (int *f : fields)
            *f = r.i32();
        op.relu6 = r.i32() != 0;
        op.addFrom = r.i32();
        op.weight = r.floats();
        op.bias = r.floats();
        op.gamma = r.floats();
        op.beta = r.floats();
        op.mean = r.floats();
        op.var = r.floats();
        op.epsilon = r.f32();
        const std::size_t expect = static_cast<std::size_t>(op.outChannels) *
            static_cast<std::size_t>(op.groups > 0 ? op.inChannels / op.groups : 0) *
            static_cast<std::size_t>(op.kernel * op.kernel);
        if (op.weight.size() != expect || op.addFrom >= i) {
            if (error) *error = path + ": inconsistent layer " + op.name;
            return false;
        }
        s.ops.push_back(std::move(op));
    }
    if (!r.ok || s.ops.empty() || s.inputSize <= 0 || s.poolGrid <= 0) {
        if (error) *error = path + ": truncated or malformed backbone file";
        return false;
    }
    *spec = std::move(s);
    return true;
}

} // namespace magpie::training
