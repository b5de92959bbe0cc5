// The one place that binds htm to Preact: views import `html` from here.
import { h, render } from '../vendor/preact/preact.js';
import htm from '../vendor/htm/htm.js';

export const html = htm.bind(h);
export { render };
