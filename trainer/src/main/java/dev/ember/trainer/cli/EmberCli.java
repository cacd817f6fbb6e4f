package dev.ember.trainer.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ember} command. Each subcommand is a class of its own in this package; add it to
 * {@code subcommands} below.
 */
@Command(name = "ember",
        mixinStandardHelpOptions = true,
        versionProvider = EmberCli.Version.class,
        description = "Trains recommendation models whose embedding tables do not fit on a GPU.",
        subcommands = {
                CommandLine.HelpCommand.class,
                TrainCommand.class,
                InspectCommand.class,
                StoreCommand.class,
                ConvertCommand.class,
                GenDataCommand.class,
                ReferenceCommand.class,
        })
public final class EmberCli implements Runnable {
    /** Exit code for bad arguments or configuration, as picocli uses. */
    public static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests run it in-process. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new EmberCli());
        // a bad value is one line naming it, and exit code 2 (not a page of usage)
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println(c.getCommandName() + ": " + ex.getMessage() + " (see --help)");
            return EXIT_USAGE;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = EmberCli.class.getPackage().getImplementationVersion();
            return new String[] {"ember " + (v == null ? "(development build)" : v)};
        }
    }
}
