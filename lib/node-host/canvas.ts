// canvas.*: the canvas panel belongs to a desktop app; this headless node host has none, so every
// canvas command fails with a clear, stable error instead of being silently unknown.
import { NodeCommandError } from './invoke-error.js';

export const CANVAS_COMMANDS: readonly string[] = [
  'canvas.present',
  'canvas.hide',
  'canvas.navigate',
  'canvas.eval',
  'canvas.snapshot',
  'canvas.a2ui.push',
  'canvas.a2ui.pushJSONL',
  'canvas.a2ui.reset',
];

export function canvasUnavailable(command: string): never {
  throw new NodeCommandError(
    'UNAVAILABLE',
    `CANVAS_UNAVAILABLE: ${command} needs a canvas host; this headless node has none`,
  );
}
