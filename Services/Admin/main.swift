// xy-admin: the REST API (accounts and tokens, JWKS, watchlists; docs in Api/openapi.yaml) over
// JetStream key-value buckets. Wiring only; the logic lives in Libraries/Admin.
import Admin
import XYCore
import XYService

try await ServiceRuntime.main(
    serviceName: "xy-admin",
    defaultHTTPPort: 9104,
    summary: "serves the REST API on API_PORT (register, login, token renewal, JWKS, watchlists; Api/openapi.yaml) with its state in JetStream key-value buckets.",
    variables: AdminConfiguration.variables,
    settings: { environment throws(ConfigurationError) in try AdminConfiguration(environment: environment) },
    secrets: { settings in settings.secrets },
    start: { context, adminConfiguration in
        ServiceRuntime.Parts(
            services: [AdminService(configuration: adminConfiguration, nats: context.nats, readiness: context.readiness, logger: context.logger)],
            observability: .server(histograms: []))
    }
)
