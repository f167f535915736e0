import Foundation

/// The fixed words of survey emails and pages, in French (the default) and English.
public struct SurveyTexts: Sendable {
    public let language: SurveyLanguage

    public init(_ language: SurveyLanguage) {
        self.language = language
    }

    private func pick(_ french: String, _ english: String) -> String { language == .en ? english : french }

    public var htmlLanguage: String { language.rawValue }
    public var title: String { pick("Votre avis", "Your opinion") }
    public var subject: String { pick("Votre avis nous intéresse", "We would like your opinion") }
    public var reminderSubject: String { pick("Rappel : votre avis nous intéresse", "Reminder: we would like your opinion") }
    public var greeting: String { pick("Bonjour,", "Hello,") }
    public var invitation: String {
        pick("Pourriez-vous répondre à une courte question ? Cela prend moins d'une minute.",
             "Could you answer a short question? It takes less than a minute.")
    }
    public var reminder: String {
        pick("Nous n'avons pas encore reçu votre réponse. Il est encore temps de nous donner votre avis.",
             "We have not had your answer yet. There is still time to give us your opinion.")
    }
    public var answerLink: String { pick("Répondre", "Answer") }
    public var unsubscribeLine: String {
        pick("Pour ne plus recevoir nos enquêtes de satisfaction :", "To stop receiving our satisfaction surveys:")
    }
    public var unsubscribeLink: String { pick("se désabonner", "unsubscribe") }
    public var thanksSignature: String { pick("Merci,", "Thank you,") }

    public var commentLabel: String { pick("Un commentaire ? (facultatif)", "Any comment? (optional)") }
    public var submit: String { pick("Envoyer", "Send") }
    public var optional: String { pick("facultatif", "optional") }
    public var notLikely: String { pick("Pas du tout probable", "Not at all likely") }
    public var veryLikely: String { pick("Très probable", "Extremely likely") }
    public var scaleLow: String { pick("Pas du tout satisfait", "Very dissatisfied") }
    public var scaleHigh: String { pick("Très satisfait", "Very satisfied") }
    public var effortLow: String { pick("Très difficile", "Very difficult") }
    public var effortHigh: String { pick("Très facile", "Very easy") }
    public var thanksTitle: String { pick("Merci !", "Thank you!") }
    public var thanks: String { pick("Votre réponse a bien été enregistrée.", "Your answer has been recorded.") }
    public var alreadyAnsweredTitle: String { pick("Déjà répondu", "Already answered") }
    public var alreadyAnswered: String {
        pick("Vous avez déjà répondu à cette enquête. Merci !", "You have already answered this survey. Thank you!")
    }
    public var expiredTitle: String { pick("Enquête terminée", "Survey closed") }
    public var expired: String {
        pick("Cette enquête est terminée : il n'est plus possible d'y répondre.", "This survey is closed: it can no longer be answered.")
    }
    public var notFoundTitle: String { pick("Lien inconnu", "Unknown link") }
    public var notFound: String {
        pick("Ce lien d'enquête n'existe pas ou n'est plus valable.", "This survey link does not exist or is no longer valid.")
    }
    public var unsubscribeTitle: String { pick("Désabonnement", "Unsubscribe") }
    public var unsubscribeQuestion: String {
        pick("Ne plus recevoir d'enquêtes de satisfaction de notre part ?", "Stop receiving satisfaction surveys from us?")
    }
    public var unsubscribeButton: String { pick("Me désabonner", "Unsubscribe me") }
    public var unsubscribed: String {
        pick("C'est fait : vous ne recevrez plus nos enquêtes de satisfaction.", "Done: you will not receive our satisfaction surveys any more.")
    }
    public var scoreMissing: String { pick("Choisissez une note avant d'envoyer.", "Choose a score before sending.") }
    public var invalidAnswer: String {
        pick("Une réponse n'est pas valable ; vérifiez le formulaire.", "An answer is not valid; check the form.")
    }
    public var unavailableTitle: String { pick("Service indisponible", "Service unavailable") }
    public var unavailable: String {
        pick("Le service est momentanément indisponible. Réessayez dans quelques minutes.",
             "The service is unavailable for a moment. Try again in a few minutes.")
    }
}
