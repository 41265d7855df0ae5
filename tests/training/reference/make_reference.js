// Computes the reference features that tst_backbone compares against, with
// the original nsfwjs@4.3.0 MobileNetV2 run by TensorFlow.js (pure JS, CPU).
// Run once by hand; the outputs are committed in tests/data/training/:
//   mkdir /tmp/ref && cd /tmp/ref && npm init -y && \
//   npm install @tensorflow/tfjs@4 pngjs@7 jpeg-js@0.4 && npm pack nsfwjs@4.3.0 && \
//   mkdir pkg && tar xzf nsfwjs-4.3.0.tgz -C pkg
//   NODE_PATH=/tmp/ref/node_modules node make_reference.js /tmp/ref/pkg/package OUT_DIR IMAGE...
// Each IMAGE (JPEG or PNG) is resized to 224x224 (bilinear, here in JS) and
// written as OUT_DIR/<name>.png; the features are computed on exactly those
// pixels: input x/255, the output of block_10_project_BN (1x14x14x96),
// average-pooled on the 4x4 grid of torch's adaptive_avg_pool2d, channel-major.
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const { PNG } = require('pngjs');
const jpeg = require('jpeg-js');

function decode(file) {
    const buf = fs.readFileSync(file);
    if (buf[0] === 0x89) {
        const p = PNG.sync.read(buf);
        return { w: p.width, h: p.height, data: p.data }; // RGBA
    }
    const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
    return { w: j.width, h: j.height, data: j.data };
}

function resize(img, S) {
    const out = Buffer.alloc(S * S * 3);
    for (let y = 0; y < S; ++y) {
        const sy = Math.min(img.h - 1, Math.max(0, (y + 0.5) * img.h / S - 0.5));
        const y0 = Math.floor(sy), y1 = Math.min(img.h - 1, y0 + 1), fy = sy - y0;
        for (let x = 0; x < S; ++x) {
            const sx = Math.min(img.w - 1, Math.max(0, (x + 0.5) * img.w / S - 0.5));
            const x0 = Math.floor(sx), x1 = Math.min(img.w - 1, x0 + 1), fx = sx - x0;
            for (let c = 0; c < 3; ++c) {
                const p = (yy, xx) => img.data[(yy * img.w + xx) * 4 + c];
                const v = (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
                out[(y * S + x) * 3 + c] = Math.round(v);
            }
        }
    }
    return out;
}

async function main() {
    const [pkg, outDir, ...images] = process.argv.slice(2);
    const dir = path.join(pkg, 'dist/models/mobilenet_v2');
    const model = require(path.join(dir, 'model.min.js'));
    const bufs = model.weightsManifest[0].paths.map(p => Buffer.from(require(path.join(dir, p + '.min.js')), 'base64'));
    const all = Buffer.concat(bufs);
    const specs = [].concat(...model.weightsManifest.map(g => g.weights));
    const full = await tf.loadLayersModel(tf.io.fromMemory({
        modelTopology: model.modelTopology, weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.length) }));
    const cut = tf.model({ inputs: full.inputs, outputs: full.getLayer('block_10_project_BN').output });
    const result = { backbone: 'nsfwjs@4.3.0 mobilenet_v2 cut after block_10_project_BN, x/255, 4x4 adaptive average pool, channel-major', tfjs: tf.version.tfjs, images: [] };
    for (const file of images) {
        const rgb = resize(decode(file), 224);
        const name = path.basename(file).replace(/\.[^.]+$/, '') + '.png';
        const png = new PNG({ width: 224, height: 224 });
        for (let i = 0; i < 224 * 224; ++i) {
            png.data[i * 4] = rgb[i * 3]; png.data[i * 4 + 1] = rgb[i * 3 + 1]; png.data[i * 4 + 2] = rgb[i * 3 + 2]; png.data[i * 4 + 3] = 255;
        }
        fs.writeFileSync(path.join(outDir, name), PNG.sync.write(png));
        const x = tf.tensor4d(Float32Array.from(rgb, v => v / 255), [1, 224, 224, 3]);
        const map = await cut.predict(x).data(); // 14 x 14 x 96, HWC
        const H = 14, C = 96, G = 4, feats = [];
        for (let c = 0; c < C; ++c)
            for (let gy = 0; gy < G; ++gy)
                for (let gx = 0; gx < G; ++gx) {
                    const ys = Math.floor(gy * H / G), ye = Math.ceil((gy + 1) * H / G);
                    const xs = Math.floor(gx * H / G), xe = Math.ceil((gx + 1) * H / G);
                    let s = 0;
                    for (let y = ys; y < ye; ++y) for (let xx = xs; xx < xe; ++xx) s += map[(y * H + xx) * C + c];
                    feats.push(s / ((ye - ys) * (xe - xs)));
                }
        let mapMax = 0; for (const v of map) mapMax = Math.max(mapMax, Math.abs(v));
        result.images.push({ file: name, source: path.basename(file), features: feats.map(v => +v.toPrecision(8)), mapAbsMax: mapMax });
    }
    fs.writeFileSync(path.join(outDir, 'mnv2-b10-reference.json'), JSON.stringify(result));
}
main().catch(e => { console.error(e); process.exit(1); });
