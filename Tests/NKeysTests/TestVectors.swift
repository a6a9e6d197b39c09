/// Keys, signatures and tokens published in other NATS projects' test suites; each
/// comment names the project the value comes from.
enum TestVectors {
    /// nats.go `nats_test.go` trust-server tests (also nats.c and nkeys ports): the user seed.
    static let userSeed = "SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY"
    static let userPublicKey = "UAT6BWCSCWLUKJT6K6MBJJOEOTXZ5AJDOYKNEVRFC7VNO6OA43N4TRNO"
    /// Signature of the nonce "nonce" by `userSeed`, base64url: nats.c's signing test as
    /// carried into the NATS.jl and nats.zig ports (first bytes 155, 157).
    static let nonceSignature = "m50It12aTgfbJwsQhucujqhXbsq7tLM-Mf_hSjBQsG_4onm8y2Vkw6JG1bbcDkdxXe-Ng0K-7X9ov4rZ4wFcDg"

    /// nats.go `nats_test.go`: the operator and account seeds of the same trust chain.
    static let operatorSeed = "SOAL7GTNI66CTVVNXBNQMG6V2HTDRWC3HGEP7D2OUTWNWSNYZDXWFOX4SU"
    static let operatorPublicKey = "OD2W2I4MVRA5TGZLZ2AG6ZHGVL3OTKFWQJFIX4TNBER23E6P46S345YY"
    static let accountSeed = "SAAASUPRY3ONU4GJR7J5RUVYRUFZXG56F4WEXELLLORQ65AEPSMIFTOJGE"
    static let accountPublicKey = "AAPQJQUPKVXGW5CZH5G2HFJULYSKDELAZRVWJA26VDZO7WSBUNIYRFNQ"

    /// nats.go `nats_test.go` `uJWT`: user JWT (v1 format) for `userPublicKey`, signed by `accountSeed`.
    static let userJWT =
        "eyJ0eXAiOiJqd3QiLCJhbGciOiJlZDI1NTE5In0.eyJqdGkiOiJBSFQzRzNXRElDS1FWQ1FUWFJUTldPRlVVUFRWNE00RFZQV0JGSFpJQUROWEZIWEpQR0FBIiwiaWF0IjoxNTQ0MDcxODg5LCJpc3MiOiJBQVBRSlFVUEtWWEdXNUNaSDVHMkhGSlVMWVNLREVMQVpSVldKQTI2VkRaTzdXU0JVTklZUkZOUSIsInN1YiI6IlVBVDZCV0NTQ1dMVUtKVDZLNk1CSkpPRU9UWFo1QUpET1lLTkVWUkZDN1ZOTzZPQTQzTjRUUk5PIiwidHlwZSI6InVzZXIiLCJuYXRzIjp7InB1YiI6e30sInN1YiI6e319fQ._8A1XM88Q2kp7XVJZ42bQuO9E3QPsNAGKtVjAkDycj8A5PtRPby9UpqBUZzBwiJQQO3TUcD5GGqSvsMm6X8hCQ"

    /// nats.go `nats_test.go` `chained`: a creds file holding `userJWT` and `userSeed`.
    static let chainedCreds = """

        -----BEGIN NATS USER JWT-----
        \(userJWT)
        ------END NATS USER JWT------

        ************************* IMPORTANT *************************
        NKEY Seed printed below can be used to sign and prove identity.
        NKEYs are sensitive and should be treated as secrets.

        -----BEGIN USER NKEY SEED-----
        \(userSeed)
        ------END USER NKEY SEED------

        """

    /// nkeys.net README: an operator seed and its public key.
    static let netOperatorSeed = "SOAELH6NJCEK4HST5644G4HK7TOAFZGRRJHNM4EUKUY7PPNDLIKO5IH4JM"
    static let netOperatorPublicKey = "ODPWIBQJVIQ42462QAFI2RKJC4RZHCQSIVPRDDHWFCJAP52NRZK6Z2YC"

    /// nats.rs `tests/auth_nkey.rs`: a user seed and its public key.
    static let rustUserSeed = "SUANQDPB2RUOE4ETUA26CNX7FUKE5ZZKFCQIIW63OX225F2CO7UEXTM7ZY"
    static let rustUserPublicKey = "UAMMBNV2EYR65NYZZ7IAK5SIR5ODNTTERJOBOF4KJLMWI45YOXOSWULM"

    /// mmmries/nkeys (Elixir) `test/nkeys_test.exs`: seed, public key and two nonce signatures.
    static let elixirSeed = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU"
    static let elixirPublicKey = "UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L"
    /// (nonce, padded signature exactly as the Elixir test spells it: standard then URL alphabet)
    static let elixirSignatures: [(nonce: String, base64: String)] = [
        ("PXoWU7zWAMt75FY", "ZaAiVDgB5CeYoXoQ7cBCmq+ZllzUnGUoDVb8C7PilWvCs8XKfUchAUhz2P4BYAF++Dg3w05CqyQFRDiGL6LrDw=="),
        ("iBFByN3zQjAT7dQ", "kagPGrixaWS5yuHqw9nTQrda1Q376fK3fRCGtYdF4_w2aSk-4O7Ca0JM0qvzm69HH6MoMps2yF6Q0Qs830JZCA=="),
    ]
}
