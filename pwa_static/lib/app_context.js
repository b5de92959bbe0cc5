// `app` (state, actions, engines, api) reaches every component through one Preact context, provided once at
// the root (app.js): components call useApp() instead of passing it down as a prop.
import { createContext } from '../vendor/preact/preact.js';
import { useContext } from '../vendor/preact/hooks.js';

export const AppContext = createContext(null);

export function useApp() {
  return useContext(AppContext);
}
