package dev.virtiofsd.launcher;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;

/**
 * {@code virtiofsd-java-ctl PATH COMMAND [ARG]}: sends one command to a daemon's control socket
 * ({@code --control-socket PATH}) and prints the answer. Exit status 0 when the daemon ran the
 * command, 1 when it refused or the command failed (the reason on stderr), 2 for a bad command line
 * or a socket that does not answer. Pure JDK (UNIX domain sockets since Java 16): no framework starts.
 */
public final class Ctl {
    static final String USAGE = "usage: virtiofsd-java-ctl SOCKET COMMAND [ARG]\n"
            + "commands:\n"
            + "  strategy           name of the inode-identity strategy new inodes get\n"
            + "  strategy NAME      new inodes get NAME from now on (the share stays mounted)\n"
            + "  stats              one JSON object: inodesByKind, inodesByStrategy, fds, open files, per-opcode"
            + " counts and latency percentiles\n"
            + "  convert [MAX]      give up to MAX fd-held inodes the current strategy's identity (sheds fds)\n"
            + "  bundles            the OSGi bundles and their states\n"
            + "  profile            the deployment profile and the configuration in force\n"
            + "  update BSN         new revision of bundle BSN from its jar, then refresh (e.g. a strategy bundle)\n"
            + "  stop BSN | start BSN\n";

    private Ctl() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
            out.print(USAGE);
            return 0;
        }
        if (args.length < 2) {
            err.print(USAGE);
            return 2;
        }
        StringBuilder line = new StringBuilder();
        for (int i = 1; i < args.length; i++) {
            if (args[i].isEmpty() || args[i].chars().anyMatch(c -> c == '\n' || Character.isWhitespace(c))) {
                err.println("virtiofsd-java-ctl: argument '" + args[i] + "' must be one word");
                return 2;
            }
            line.append(i > 1 ? " " : "").append(args[i]);
        }
        String reply;
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(Paths.get(args[0])));
            ByteBuffer req = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            while (req.hasRemaining()) {
                c.write(req);
            }
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(8192);
            while (c.read(b) >= 0) {
                buf.write(b.array(), 0, b.position());
                b.clear();
            }
            reply = buf.toString(StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            err.println("virtiofsd-java-ctl: " + args[0] + ": " + e.getMessage());
            return 2;
        }
        int nl = reply.indexOf('\n');
        String status = nl < 0 ? reply : reply.substring(0, nl);
        String body = nl < 0 ? "" : reply.substring(nl + 1);
        if (status.equals("OK")) {
            out.print(body);
            out.flush();
            return 0;
        }
        if (status.equals("ERROR")) {
            err.print("virtiofsd-java-ctl: " + body);
            return 1;
        }
        err.println("virtiofsd-java-ctl: unexpected answer from " + args[0] + ": " + status);
        return 2;
    }
}
