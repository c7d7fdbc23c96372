/** A configuration value that cannot be used; `field` names it as the user wrote it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_BROKER_CONFIG';
  /** `ENV_NAME (--flag)` of the offending field. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`invalid configuration: ${field}: ${message}`);
    this.field = field;
  }
}
