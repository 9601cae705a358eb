import { version } from '../../package.json';

/** The package version (inlined into the bundle by esbuild; read from package.json by tsx). */
export const VERSION: string = version;
