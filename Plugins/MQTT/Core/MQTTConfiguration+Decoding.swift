extension MQTTConfiguration {
    private enum CodingKeys: String, CodingKey {
        case host, port, clientId, username, password, `protocol`, keepaliveS, cleanSession, sessionExpiryS
        case connectTimeoutMs, ackTimeoutMs, prefix, requestTimeoutMs, queueCapacity
        case tls, reconnect, spool, presence, outbound, inbound, remote
    }

    /// Decodes the validated section. Absent rule lists (the kernel fills defaults for scalars and
    /// objects, not for lists of objects) are empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decode(String.self, forKey: .host)
        port = try c.decode(Int.self, forKey: .port)
        clientId = try c.decode(String.self, forKey: .clientId)
        username = try c.decode(String.self, forKey: .username)
        password = try c.decode(String.self, forKey: .password)
        `protocol` = try c.decode(String.self, forKey: .protocol)
        keepaliveS = try c.decode(Int.self, forKey: .keepaliveS)
        cleanSession = try c.decode(Bool.self, forKey: .cleanSession)
        sessionExpiryS = try c.decode(Int.self, forKey: .sessionExpiryS)
        connectTimeoutMs = try c.decode(Int.self, forKey: .connectTimeoutMs)
        ackTimeoutMs = try c.decodeIfPresent(Int.self, forKey: .ackTimeoutMs) ?? 30000
        prefix = try c.decode(String.self, forKey: .prefix)
        requestTimeoutMs = try c.decode(Int.self, forKey: .requestTimeoutMs)
        queueCapacity = try c.decode(Int.self, forKey: .queueCapacity)
        tls = try c.decode(TLS.self, forKey: .tls)
        reconnect = try c.decode(Reconnect.self, forKey: .reconnect)
        spool = try c.decode(Spool.self, forKey: .spool)
        presence = try c.decode(Presence.self, forKey: .presence)
        outbound = try c.decodeIfPresent([Outbound].self, forKey: .outbound) ?? []
        inbound = try c.decodeIfPresent([Inbound].self, forKey: .inbound) ?? []
        remote = try c.decodeIfPresent([Remote].self, forKey: .remote) ?? []
    }
}
