package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** VIRTIOFSD_BENCH_VARIANT: the extra column of ours, with JVM options and optionally another JDK. */
class DaemonConfigTest {

    private static Daemon.Config variant(String spec) {
        List<Daemon.Config> c = Daemon.configs(spec);
        assertEquals(6, c.size(), spec);
        return c.get(5);
    }

    @Test
    void optionsOnly() {
        Daemon.Config c = variant("nopoll:-Dvirtiofsd.vhostuser.poll-micros=0 -XX:TieredStopAtLevel=1");
        assertEquals("ours-fd-nopoll", c.key());
        assertEquals("-Dvirtiofsd.vhostuser.poll-micros=0 -XX:TieredStopAtLevel=1", c.javaOpts());
        assertEquals("", c.javaHome());
    }

    @Test
    void anotherJdkWithAndWithoutOptions() {
        Daemon.Config c = variant("jdk25:JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64:-XX:+UseSerialGC");
        assertEquals("ours-fd-jdk25", c.key());
        assertEquals("/usr/lib/jvm/temurin-25-jdk-amd64", c.javaHome());
        assertEquals("-XX:+UseSerialGC", c.javaOpts());
        Daemon.Config bare = variant("j25:JAVA_HOME=/opt/jdk");
        assertEquals("/opt/jdk", bare.javaHome());
        assertEquals("", bare.javaOpts());
        assertEquals("", variant("j25:JAVA_HOME=/opt/jdk:").javaOpts());
    }

    @Test
    void anotherDistributionWithOrWithoutAnotherJdk() {
        Daemon.Config c = variant("main:DIST=/tmp/dist-main:-Dvirtiofsd.vhostuser.poll-micros=0");
        assertEquals("ours-fd-main", c.key());
        assertEquals("/tmp/dist-main", c.dist());
        assertEquals("", c.javaHome());
        assertEquals("-Dvirtiofsd.vhostuser.poll-micros=0", c.javaOpts());
        Daemon.Config both = variant("old25:JAVA_HOME=/opt/jdk:DIST=/tmp/d:");
        assertEquals("/opt/jdk", both.javaHome());
        assertEquals("/tmp/d", both.dist());
        assertEquals("", both.javaOpts());
        Daemon.Config reversed = variant("old25:DIST=/tmp/d:JAVA_HOME=/opt/jdk");
        assertEquals("/opt/jdk", reversed.javaHome());
        assertEquals("/tmp/d", reversed.dist());
        assertEquals("", variant("jdk25:JAVA_HOME=/opt/jdk:").dist());
    }

    @Test
    void aDistributionVariantLaunchesThatDistributionsScript() {
        Setup setup = new Setup(Path.of("/checkout"), Path.of("/peer"), Path.of("/out"), "launcher");
        assertEquals(
                List.of("/tmp/dist-main/bin/virtiofsd-java"),
                setup.oursCommand(variant("main:DIST=/tmp/dist-main:"), null));
        assertEquals(
                List.of("/checkout/distribution/target/virtiofsd-java/bin/virtiofsd-java"),
                setup.oursCommand(Daemon.configs(null).get(2), null));
    }

    @Test
    void noVariantIsTheFiveColumns() {
        assertEquals(5, Daemon.configs(null).size());
        assertEquals(5, Daemon.configs("no-colon").size());
    }

    @Test
    void theGuestBenchmarkRunsTheVariantBesideTheDefaults() {
        assertEquals(List.of("peer-never", "ours-fd"), GuestBenchmark.daemons(Daemon.configs(null)));
        assertEquals(
                List.of("peer-never", "ours-fd", "ours-fd-jdk25"),
                GuestBenchmark.daemons(Daemon.configs("jdk25:JAVA_HOME=/opt/jdk:")));
    }

    @Test
    void severalVariantsSeparatedBySemicolonsAreOneColumnEach() {
        List<Daemon.Config> c = Daemon.configs("warm:-Dvirtiofsd.warmup.rounds=1500; cold:-Da=1 -Db=2");
        assertEquals(7, c.size());
        assertEquals("-Dvirtiofsd.warmup.rounds=1500", c.get(5).javaOpts());
        assertEquals("ours-fd-cold", c.get(6).key());
        assertEquals("-Da=1 -Db=2", c.get(6).javaOpts());
        assertEquals(List.of("peer-never", "ours-fd", "ours-fd-warm", "ours-fd-cold"), GuestBenchmark.daemons(c));
    }
}
