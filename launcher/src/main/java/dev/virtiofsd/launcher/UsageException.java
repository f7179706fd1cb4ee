package dev.virtiofsd.launcher;

/** A bad command line: {@link #getMessage()} is the one line shown to the user. */
public final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    /** clap's status for a command-line error. */
    public static final int USAGE = 2;
    /** Status for a well-formed command line that names something unusable (like virtiofsd's checks). */
    public static final int INVALID = 1;

    private final int exitStatus;

    public UsageException(int exitStatus, String message) {
        super(message, null, false, false);
        this.exitStatus = exitStatus;
    }

    public int exitStatus() {
        return exitStatus;
    }
}
