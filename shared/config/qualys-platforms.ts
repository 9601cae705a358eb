/**
 * Qualys platforms (pods): gateway host and the sensor's POD_URL ("cmsqagpublic") host share one domain.
 * Source: qualys-cs-api.md §1.1 (platform table [C3] qualysdk platform_picker.py; POD_URL pattern [C3]).
 */
export const QUALYS_PLATFORM_DOMAINS: Record<string, string> = {
  US1: 'qg1.apps.qualys.com',
  US2: 'qg2.apps.qualys.com',
  US3: 'qg3.apps.qualys.com',
  US4: 'qg4.apps.qualys.com',
  EU1: 'qg1.apps.qualys.eu',
  EU2: 'qg2.apps.qualys.eu',
  EU3: 'qg3.apps.qualys.it',
  IN1: 'qg1.apps.qualys.in',
  CA1: 'qg1.apps.qualys.ca',
  AE1: 'qg1.apps.qualys.ae',
  UK1: 'qg1.apps.qualys.co.uk',
  AU1: 'qg1.apps.qualys.com.au',
  KSA1: 'qg1.apps.qualysksa.com',
};

export const QUALYS_PLATFORMS = Object.keys(QUALYS_PLATFORM_DOMAINS);

/** A platform name of the table above (case-insensitive). */
export function isQualysPlatform(name: string): boolean {
  return Object.hasOwn(QUALYS_PLATFORM_DOMAINS, name.toUpperCase());
}

export const UNKNOWN_PLATFORM_HINT = `a Qualys platform: one of ${QUALYS_PLATFORMS.join(', ')}`;

export function gatewayUrl(platform: string): string {
  return `https://gateway.${domainOf(platform)}`;
}

export function sensorPodUrl(platform: string): string {
  return `https://cmsqagpublic.${domainOf(platform)}/ContainerSensor`;
}

function domainOf(platform: string): string {
  const domain = QUALYS_PLATFORM_DOMAINS[platform.toUpperCase()];
  if (!domain) {
    throw new Error(`unknown Qualys platform "${platform}" (one of ${Object.keys(QUALYS_PLATFORM_DOMAINS).join(', ')}); set an explicit URL instead`);
  }
  return domain;
}
