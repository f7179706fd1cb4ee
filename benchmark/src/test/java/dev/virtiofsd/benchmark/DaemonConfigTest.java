package dev.virtiofsd.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
