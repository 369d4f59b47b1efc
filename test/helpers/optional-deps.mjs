// Loaded by scripts/run-tests.mjs (`--import`): lets the tests use Ferry's optional Azure SDK
// dependencies where npm did not install them (Node < 22: they declare Node >= 22), from the
// test tools directory that scripts/azurite-install.sh fills (DIR/azure-sdk). Only a failed
// resolution of those packages is redirected; installed ones resolve as usual.
import { register } from 'node:module';

register('./optional-deps-hooks.mjs', import.meta.url, {
  data: { toolsDir: process.env.FERRY_TOOLS_DIR ?? '/opt/ferry-tools' },
});
