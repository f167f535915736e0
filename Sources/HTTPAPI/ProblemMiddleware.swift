import ClientBase
import Foundation
import Hummingbird
import Logging
import Postgres
import Tenancy

/// Turns every error into a problem+json response. The caller's mistakes get 4xx with a
/// message that says what to fix; only our own faults are 500, logged and kept vague.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.problem(for: error, logger: context.logger).response(for: request, context: context)
        }
    }

    /// Account errors (users, keys, logins) as the caller should see them.
    static func problem(for error: TenancyError) -> Problem? {
        switch error.code {
        case .invalidEmail, .invalidPassword, .invalidName, .invalidRole:
            return Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value", detail: error.message)
        case .userExists:
            return Problem(status: .conflict, slug: "conflict", title: "Conflict", detail: error.message)
        case .lastOwner:
            return Problem(status: .conflict, slug: "last-owner", title: "Last owner", detail: error.message)
        case .unknownUser, .unknownKey, .unknownTenant:
            return Problem.notFound(error.message)
        case .roleTooHigh:
            return Problem(status: .forbidden, slug: "forbidden", title: "Not allowed for your role", detail: error.message)
        case .invalidCredentials:
            return Problem(status: .unauthorized, slug: "invalid-credentials", title: "Login failed", detail: error.message)
        case .invalidInvitation:
            return Problem(status: .unprocessableContent, slug: "invalid-invitation", title: "Invalid invitation", detail: error.message)
        case .invalidResetToken:
            return Problem(status: .badRequest, slug: "invalid-reset-token", title: "Invalid password reset link", detail: error.message)
        case .wrongPassword:
            return Problem(status: .forbidden, slug: "wrong-password", title: "Wrong password", detail: error.message)
        case .sessionRequired:
            return Problem(status: .forbidden, slug: "forbidden", title: "Not allowed for this credential", detail: error.message)
        case .tooManyAttempts:
            var problem = Problem(status: .tooManyRequests, slug: "too-many-attempts", title: "Too many attempts", detail: error.message)
            problem.headers[.retryAfter] = String(error.retryAfterSeconds ?? 60)
            return problem
        default:
            return nil  // migrations and the like: not the caller's doing
        }
    }

    static func problem(for error: any Error, logger: Logger) -> Problem {
        if let error = error as? TenancyError, let problem = problem(for: error) { return problem }
        switch error {
        case let problem as Problem:
            return problem
        case let error as ClientBaseError:
            switch error.code {
            case .invalid:
                return Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value", detail: error.message, field: error.field)
            case .notFound:
                return Problem.notFound(error.message)
            case .conflict:
                return Problem(status: .conflict, slug: "conflict", title: "Conflict", detail: error.message, field: error.field)
            case .staleRevision:
                return Problem(status: .preconditionFailed, slug: "stale-revision", title: "Changed meanwhile", detail: error.message)
            case .forbidden:
                return Problem(status: .forbidden, slug: "forbidden", title: "Not allowed for your role", detail: error.message)
            }
        case let error as DecodingError:
            return Problem.badRequest("the body is not valid JSON: \(Self.describe(error))")
        case let error as HTTPError:
            return problem(for: error)
        case let error as PostgresError where error.code == .poolTimeout || error.isConnectionFailure || error.code == .clientClosed:
            logger.error("database unavailable", metadata: ["error": "\(error)"])
            return Problem(status: .serviceUnavailable, slug: "unavailable", title: "Service unavailable",
                           detail: "the database is unavailable; retry in a moment")
        case let error as PostgresError where error.sqlState == .queryCanceled:
            logger.warning("statement cancelled by its timeout", metadata: ["error": "\(error)"])
            return Problem(status: .serviceUnavailable, slug: "timeout", title: "Request took too long",
                           detail: "the request took too long and was cancelled; retry in a moment")
        case let error as PostgresError where error.sqlState == .uniqueViolation:
            return Problem(status: .conflict, slug: "conflict", title: "Conflict", detail: "the record conflicts with another one")
        case let error as PostgresError where error.sqlState?.isIntegrityConstraintViolation == true || error.sqlState?.isDataException == true:
            return Problem(status: .unprocessableContent, slug: "validation", title: "Invalid field value", detail: error.message)
        default:
            logger.error("unexpected error", metadata: ["error": "\(error)", "error.type": "\(type(of: error))"])
            return Problem(status: .internalServerError, slug: "internal", title: "Internal server error",
                           detail: "something went wrong on our side; the request id helps us find it")
        }
    }

    static func problem(for error: HTTPError) -> Problem {
        switch error.status {
        case .notFound:
            return Problem.notFound(error.body ?? "there is nothing at this address")
        case .contentTooLarge:
            return Problem(status: .contentTooLarge, slug: "too-large", title: "Body too large",
                           detail: "the body is larger than the 64 KiB this API accepts")
        default:
            return Problem(status: error.status, slug: "http-\(error.status.code)", title: error.status.reasonPhrase,
                           detail: error.body ?? error.status.reasonPhrase)
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            context.debugDescription
        @unknown default:
            "\(error)"
        }
    }
}
