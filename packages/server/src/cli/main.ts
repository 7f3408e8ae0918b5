import { CommanderError } from 'commander';
import { main as serverMain } from '../cli.js';
import { deliveryCommands } from './deliveries.js';
import { endpointCommands } from './endpoints.js';
import { eventCommands } from './events.js';
import { listenCommand } from './listen.js';
import { EXIT, reportError } from './output.js';
import { tailCommand } from './tail.js';

/**
 * The `herald` command: `serve`, `api` and `worker` (cli.ts) run Herald; the commands here are for
 * people and scripts talking to a running Herald through @herald/client. They live in their own
 * TypeScript project (tsconfig.cli.json), since @herald/client takes its types from this package.
 */
export async function main(argv: string[]): Promise<void> {
  await serverMain(argv, {
    addCommands(program) {
      program.exitOverride();
      endpointCommands(program);
      eventCommands(program);
      deliveryCommands(program);
      tailCommand(program);
      listenCommand(program);
    },
    onError(error) {
      if (error instanceof CommanderError) {
        // Help and --version end with exit code 0 and have printed themselves; usage errors too.
        process.exit(error.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
      }
      process.exit(reportError(error));
    },
  });
}
