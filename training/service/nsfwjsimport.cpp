#include "training/service/nsfwjsimport.h"

#include "training/backboneformat.h"

#include <QDir>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QRegularExpression>

#include <cmath>

namespace magpie::training {

namespace {

// A parser for the JavaScript object literals that the minified model file
// holds: unquoted keys, numbers like ".5", !0 / !1 for true / false, null.
class LiteralParser
{
public:
    explicit LiteralParser(const QByteArray &s, int pos) : m_s(s), m_i(pos) {}
    bool ok() const { return m_ok; }
    int pos() const { return m_i; }

    QJsonValue value()
    {
        skip();
        if (m_i >= m_s.size()) return fail();
        const char c = m_s[m_i];
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"' || c == '\'') return QJsonValue(string());
        if (c == '!') {
            ++m_i;
            const char v = ch(m_i++);
            return QJsonValue(v == '0');
        }
        if (c == '-' || c == '.' || (c >= '0' && c <= '9')) return number();
        const QByteArray id = ident();
        if (id == "null" || id == "void") { if (id == "void") ident(); return QJsonValue(QJsonValue::Null); }
        if (id == "true") return QJsonValue(true);
        if (id == "false") return QJsonValue(false);
        return fail();
    }

private:
    QJsonValue fail() { m_ok = false; return {}; }
    char ch(int i) const { return i >= 0 && i < m_s.size() ? m_s[i] : '\0'; }
    void skip() { while (m_i < m_s.size() && std::isspace(static_cast<unsigned char>(m_s[m_i]))) ++m_i; }
    QByteArray ident()
    {
        skip();
        const int b = m_i;
        while (m_i < m_s.size() && (std::isalnum(static_cast<unsigned char>(m_s[m_i])) || m_s[m_i] == '_' || m_s[m_i] == '$')) ++m_i;
        return m_s.mid(b, m_i - b);
    }
    QString string()
    {
        const char q = m_s[m_i++];
        QByteArray out;
        while (m_i < m_s.size() && m_s[m_i] != q) {
            if (m_s[m_i] == '\\' && m_i + 1 < m_s.size()) {
                ++m_i;
                const char e = m_s[m_i];
                out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
            } else {
                out += m_s[m_i];
            }
            ++m_i;
        }
        ++m_i;
        return QString::fromUtf8(out);
    }
    QJsonValue number()
    {
        const int b = m_i;
        while (m_i < m_s.size() && (std::isdigit(static_cast<unsigned char>(m_s[m_i])) || std::strchr("+-.eE", m_s[m_i]))) ++m_i;
        bool ok = false;
        const double v = m_s.mid(b, m_i - b).toDouble(&ok);
        return ok ? QJsonValue(v) : fail();
    }
    QJsonValue object()
    {
        QJsonObject o;
        ++m_i;
        for (;;) {
            skip();
            if (m_i >= m_s.size()) return fail();
            if (m_s[m_i] == '}') { ++m_i; break; }
            QString key;
            if (m_s[m_i] == '"' || m_s[m_i] == '\'') key = string();
            else key = QString::fromLatin1(ident());
            skip();
            if (key.isEmpty() || ch(m_i) != ':') return fail();
            ++m_i;
            const QJsonValue v = value();
            if (!m_ok) return {};
            o.insert(key, v);
            skip();
            if (ch(m_i) == ',') ++m_i;
        }
        return o;
    }
    QJsonValue array()
    {
        QJsonArray a;
        ++m_i;
        for (;;) {
            skip();
            if (m_i >= m_s.size()) return fail();
            if (m_s[m_i] == ']') { ++m_i; break; }
            a.append(value());
            if (!m_ok) return {};
            skip();
            if (ch(m_i) == ',') ++m_i;
        }
        return a;
    }

    const QByteArray &m_s;
    int m_i = 0;
    bool m_ok = true;
};

bool readFile(const QString &path, QByteArray *out, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1").arg(path);
        return false;
    }
    *out = f.readAll();
    return true;
}

struct Tensor
{
    std::vector<int> shape;
    std::vector<float> values;
};

} // namespace

bool importNsfwjsMobileNetV2(const QString &packageDir, const QString &outPath, QString *error)
{
    QString dummy;
    if (!error) error = &dummy;
    const QString dir = packageDir + QStringLiteral("/dist/models/mobilenet_v2");
    QByteArray js;
    if (!readFile(dir + QStringLiteral("/model.min.js"), &js, error))
        return false;
    const int at = js.indexOf("exports={modelTopology");
    if (at < 0) {
        *error = QStringLiteral("model.min.js: no model object found");
        return false;
    }
    LiteralParser p(js, at + 8);
    const QJsonObject model = p.value().toObject();
    if (!p.ok() || model.isEmpty()) {
        *error = QStringLiteral("model.min.js: cannot parse the model object");
        return false;
    }
    const QJsonArray layers = model.value(QStringLiteral("modelTopology")).toObject()
                                  .value(QStringLiteral("model_config")).toObject()
                                  .value(QStringLiteral("config")).toObject()
                                  .value(QStringLiteral("layers")).toArray();
    const QJsonArray manifest = model.value(QStringLiteral("weightsManifest")).toArray();
    if (layers.isEmpty() || manifest.isEmpty()) {
        *error = QStringLiteral("model.min.js: no layers or weights manifest");
        return false;
    }

    // Weights: concatenate the shards of each group, dequantise per tensor.
    QHash<QString, Tensor> weights;
    static const QRegularExpression b64(QStringLiteral("exports=\"([A-Za-z0-9+/=]+)\""));
    for (const QJsonValue &g : manifest) {
        QByteArray bytes;
        for (const QJsonValue &path : g.toObject().value(QStringLiteral("paths")).toArray()) {
            QByteArray shard;
            if (!readFile(dir + QLatin1Char('/') + path.toString() + QStringLiteral(".min.js"), &shard, error))
                return false;
            const int s = shard.indexOf("exports=\"");
            const int e = s < 0 ? -1 : shard.indexOf('"', s + 9);
            if (s < 0 || e < 0) {
                *error = QStringLiteral("%1: no base64 payload").arg(path.toString());
                return false;
            }
            bytes += QByteArray::fromBase64(shard.mid(s + 9, e - s - 9));
        }
        qsizetype off = 0;
        for (const QJsonValue &wv : g.toObject().value(QStringLiteral("weights")).toArray()) {
            const QJsonObject w = wv.toObject();
            Tensor t;
            qsizetype count = 1;
            for (const QJsonValue &d : w.value(QStringLiteral("shape")).toArray()) {
                t.shape.push_back(d.toInt());
                count *= d.toInt();
            }
            const QJsonObject q = w.value(QStringLiteral("quantization")).toObject();
            const QString qtype = q.value(QStringLiteral("dtype")).toString();
            const qsizetype width = qtype == u"uint8" ? 1 : qtype.isEmpty() ? 4 : 0;
            if (width == 0 || off + count * width > bytes.size()) {
                *error = QStringLiteral("weights: unsupported or truncated tensor %1").arg(w.value(QStringLiteral("name")).toString());
                return false;
            }
            t.values.resize(static_cast<std::size_t>(count));
            const double mn = q.value(QStringLiteral("min")).toDouble();
            const double sc = q.value(QStringLiteral("scale")).toDouble();
            for (qsizetype i = 0; i < count; ++i) {
                if (width == 1) {
                    t.values[static_cast<std::size_t>(i)] = static_cast<float>(mn + sc * static_cast<unsigned char>(bytes[off + i]));
                } else {
                    float f;
                    std::memcpy(&f, bytes.constData() + off + i * 4, 4);
                    t.values[static_cast<std::size_t>(i)] = f;
                }
            }
            off += count * width;
            weights.insert(w.value(QStringLiteral("name")).toString(), std::move(t));
        }
    }

    BackboneSpec spec;
    spec.name = "mnv2-b10";
    spec.provenance = "MobileNetV2 (alpha 1.0, 224) ImageNet weights (TF-slim, Apache-2.0, via Keras Applications), "
                      "layers Conv1..block_10_project_BN, taken from the npm package nsfwjs@4.3.0 (MIT), "
                      "8-bit quantised by the TensorFlow.js converter";
    spec.inputSize = 224;
    spec.inputScale = 1.0f / 255.0f;
    spec.poolGrid = 4;

    QHash<QString, int> opOf; // layer name -> index of the op whose output it is (-1: the input)
    int pendT = 0, pendB = 0, pendL = 0, pendR = 0;
    int size = 224, channels = 3;
    auto need = [&](const QString &name, std::size_t count) -> const Tensor * {
        const auto it = weights.constFind(name);
        if (it == weights.constEnd() || it->values.size() != count) {
            *error = QStringLiteral("weights: missing or wrong-sized tensor %1").arg(name);
            return nullptr;
        }
        return &*it;
    };
    bool done = false;
    for (const QJsonValue &lv : layers) {
        const QJsonObject l = lv.toObject();
        const QString name = l.value(QStringLiteral("name")).toString();
        const QString cls = l.value(QStringLiteral("class_name")).toString();
        const QJsonObject cfg = l.value(QStringLiteral("config")).toObject();
        QStringList inbound;
        for (const QJsonValue &node : l.value(QStringLiteral("inbound_nodes")).toArray())
            for (const QJsonValue &in : node.toArray())
                inbound << in.toArray().at(0).toString();
        const int last = static_cast<int>(spec.ops.size()) - 1;
        if (cls == u"InputLayer") {
            opOf.insert(name, -1);
        } else if (cls == u"ZeroPadding2D") {
            const QJsonArray pad = cfg.value(QStringLiteral("padding")).toArray();
            pendT = pad.at(0).toArray().at(0).toInt();
            pendB = pad.at(0).toArray().at(1).toInt();
            pendL = pad.at(1).toArray().at(0).toInt();
            pendR = pad.at(1).toArray().at(1).toInt();
            if (inbound.size() != 1 || opOf.value(inbound[0], -2) != last) {
                *error = QStringLiteral("unexpected graph at %1").arg(name);
                return false;
            }
            opOf.insert(name, last);
        } else if (cls == u"Conv2D" || cls == u"DepthwiseConv2D") {
            if (inbound.size() != 1 || opOf.value(inbound[0], -2) != last) {
                *error = QStringLiteral("unexpected graph at %1").arg(name);
                return false;
            }
            ConvOp op;
            op.name = name.toStdString();
            const bool dw = cls == u"DepthwiseConv2D";
            op.kernel = cfg.value(QStringLiteral("kernel_size")).toArray().at(0).toInt();
            op.stride = cfg.value(QStringLiteral("strides")).toArray().at(0).toInt();
            op.inChannels = channels;
            op.outChannels = dw ? channels : cfg.value(QStringLiteral("filters")).toInt();
            op.groups = dw ? channels : 1;
            op.padTop = pendT; op.padBottom = pendB; op.padLeft = pendL; op.padRight = pendR;
            pendT = pendB = pendL = pendR = 0;
            int padded = size + op.padTop + op.padBottom;
            if (cfg.value(QStringLiteral("padding")).toString() == u"same") {
                // TensorFlow 'same': total = max(k - s, k - (n mod s)) ... extra on bottom/right.
                const int out = (padded + op.stride - 1) / op.stride;
                const int total = std::max(0, (out - 1) * op.stride + op.kernel - padded);
                op.padTop += total / 2; op.padBottom += total - total / 2;
                op.padLeft += total / 2; op.padRight += total - total / 2;
                padded += total;
            }
            size = (padded - op.kernel) / op.stride + 1;
            const int k = op.kernel;
            const Tensor *w = need(name + (dw ? QStringLiteral("/depthwise_kernel") : QStringLiteral("/kernel")),
                                   static_cast<std::size_t>(k * k * op.inChannels * (dw ? 1 : op.outChannels)));
            if (!w) return false;
            const int O = op.outChannels, I = dw ? 1 : op.inChannels;
            op.weight.resize(static_cast<std::size_t>(O * I * k * k));
            // Keras: (kh, kw, in, out) or depthwise (kh, kw, C, 1) -> OIHW / (C,1,kh,kw).
            for (int o = 0; o < O; ++o)
                for (int i = 0; i < I; ++i)
                    for (int y = 0; y < k; ++y)
                        for (int x = 0; x < k; ++x) {
                            const std::size_t src = dw ? static_cast<std::size_t>((y * k + x) * op.inChannels + o)
                                                       : static_cast<std::size_t>(((y * k + x) * op.inChannels + i) * O + o);
                            op.weight[static_cast<std::size_t>(((o * I + i) * k + y) * k + x)] = w->values[src];
                        }
            if (cfg.value(QStringLiteral("use_bias")).toBool()) {
                const Tensor *b = need(name + QStringLiteral("/bias"), static_cast<std::size_t>(O));
                if (!b) return false;
                op.bias = b->values;
            }
            channels = O;
            spec.ops.push_back(std::move(op));
            opOf.insert(name, last + 1);
        } else if (cls == u"BatchNormalization") {
            if (last < 0 || inbound.size() != 1 || opOf.value(inbound[0], -2) != last || !spec.ops[static_cast<std::size_t>(last)].gamma.empty()) {
                *error = QStringLiteral("unexpected graph at %1").arg(name);
                return false;
            }
            ConvOp &op = spec.ops[static_cast<std::size_t>(last)];
            const std::size_t C = static_cast<std::size_t>(op.outChannels);
            const Tensor *g = need(name + QStringLiteral("/gamma"), C);
            const Tensor *b = g ? need(name + QStringLiteral("/beta"), C) : nullptr;
            const Tensor *m = b ? need(name + QStringLiteral("/moving_mean"), C) : nullptr;
            const Tensor *v = m ? need(name + QStringLiteral("/moving_variance"), C) : nullptr;
            if (!v) return false;
            op.gamma = g->values; op.beta = b->values; op.mean = m->values; op.var = v->values;
            op.epsilon = static_cast<float>(cfg.value(QStringLiteral("epsilon")).toDouble(1e-3));
            opOf.insert(name, last);
        } else if (cls == u"ReLU") {
            if (last < 0 || inbound.size() != 1 || opOf.value(inbound[0], -2) != last
                || std::abs(cfg.value(QStringLiteral("max_value")).toDouble() - 6.0) > 1e-9) {
                *error = QStringLiteral("unexpected graph at %1").arg(name);
                return false;
            }
            spec.ops[static_cast<std::size_t>(last)].relu6 = true;
            opOf.insert(name, last);
        } else if (cls == u"Add") {
            if (inbound.size() != 2) {
                *error = QStringLiteral("unexpected graph at %1").arg(name);
                return false;
            }
            const int a = opOf.value(inbound[0], -2), b = opOf.value(inbound[1], -2);
            const int skipFrom = a == last ? b : a;
            if ((a != last && b != last) || skipFrom < 0 || spec.ops[static_cast<std::size_t>(last)].addFrom >= 0) {
                *error = QStringLiteral("unexpected graph at %1").arg(name);
                return false;
            }
            spec.ops[static_cast<std::size_t>(last)].addFrom = skipFrom;
            opOf.insert(name, last);
        } else {
            *error = QStringLiteral("unsupported layer %1 (%2) before the cut").arg(name, cls);
            return false;
        }
        if (name == u"block_10_project_BN") {
            done = true;
            break; // nothing after the cut is read
        }
    }
    if (!done) {
        *error = QStringLiteral("block_10_project_BN not found");
        return false;
    }
    QDir().mkpath(QFileInfo(outPath).absolutePath());
    std::string err;
    if (!writeBackbone(spec, outPath.toStdString(), &err)) {
        *error = QString::fromStdString(err);
        return false;
    }
    return true;
}

} // namespace magpie::training
