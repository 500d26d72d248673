// Loads the wasm UI and records frame times (requestAnimationFrame deltas) for the
// benchmark, which reads window.__pierFrames over WebDriver.
import init from './pier_ui.js';

window.__pierFrames = [];
let last = performance.now();
function frame(now) {
  if (window.__pierFrames.length < 100000) window.__pierFrames.push(now - last);
  last = now;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
init();
