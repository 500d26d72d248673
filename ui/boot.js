// Loads the wasm UI and records frames ([when, interval] from requestAnimationFrame) for the
// benchmark, which reads window.__pierFrames over WebDriver, with window.__pierWork (what
// kept the UI thread busy, filled by the wasm UI's bridge) to explain slow frames.
import init from './pier_ui.js';

window.__pierFrames = [];
window.__pierWork = [];
let last = performance.now();
function frame(now) {
  if (window.__pierFrames.length < 100000) window.__pierFrames.push([now, now - last]);
  last = now;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
init();
