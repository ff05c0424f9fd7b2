declare const VIRT_PIN_VERSION: string | undefined;

/** The package version, injected by the bundler (`0.0.0-dev` when run unbundled). */
export function version(): string {
  return typeof VIRT_PIN_VERSION === 'string' ? VIRT_PIN_VERSION : '0.0.0-dev';
}
