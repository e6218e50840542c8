/// Where a test lab's sshd ports go: a random range below Linux's ephemeral ports (32768 and up).
/// There, the suite's own outgoing connections (load tests make thousands) can take a port between
/// the lab's free check and sshd's bind; a 25-host lab on 33545 once failed with "did not accept
/// SSH connections in time".
public enum LabPorts {
    public static func randomBase(hosts: Int) -> Int { Int.random(in: 10000...(32000 - hosts)) }
}
