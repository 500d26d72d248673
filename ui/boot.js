// Loads the wasm UI. The desktop benchmark calls window.__pierRecord() over WebDriver to start
// recording frames ([when, interval] from requestAnimationFrame) in window.__pierFrames, and
// what kept the UI thread busy in window.__pierWork (filled by the wasm UI's bridge) to explain
// slow frames. Nothing is recorded until then: a frame callback on every display refresh kept
// the web process awake 60 times a second for as long as the window was open (about 2.7% of a
// core at idle across the app's processes) and the arrays grew for the first half hour.
// window.__pierWasmBytes() gives the size of the UI's wasm memory (its Rust heap), which the
// benchmark prints beside the web process's.
import init from './pier_ui.js';

window.__pierRecord = () => {
  const recording = Array.isArray(window.__pierFrames);
  window.__pierFrames = [];
  window.__pierWork = [];
  if (recording) return;
  let last = performance.now();
  const frame = (now) => {
    if (window.__pierFrames.length < 100000) window.__pierFrames.push([now, now - last]);
    last = now;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
};
init().then((wasm) => {
  window.__pierWasmBytes = () => wasm.memory.buffer.byteLength;
});
