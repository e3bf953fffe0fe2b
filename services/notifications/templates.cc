#include "services/notifications/templates.h"

#include <optional>

#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::notifications {

namespace rv1 = cityhub::requests::v1;
using infra::EscapeHtml;
using infra::StrAppend;
using infra::StrCat;

namespace {

bool En(std::string_view language) { return language == "en"; }

std::string ServiceName(std::string_view de, std::string_view en, std::string_view language) {
  if (En(language) && !en.empty()) return std::string(en);
  return std::string(de.empty() ? en : de);
}

// At most `max` characters, cut at a character boundary with an ellipsis.
std::string Shorten(std::string_view text, size_t max) {
  if (infra::Utf8Length(text) <= max) return std::string(text);
  size_t chars = 0, i = 0;
  for (; i < text.size() && chars < max; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++chars;
  }
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  return StrCat(text.substr(0, i), "…");
}

std::string Html(std::string_view title, std::string_view paragraphs_html) {
  return StrCat("<!doctype html><html><head><meta charset=\"utf-8\"><title>", EscapeHtml(title),
                "</title></head><body style=\"font-family:sans-serif\">", paragraphs_html,
                "<p style=\"color:#666\">Stadt Bielefeld · cityhub</p></body></html>");
}

}  // namespace

std::string_view Lang(std::string_view language) { return En(language) ? "en" : "de"; }

std::string StatusName(rv1::Status status, std::string_view language) {
  const bool en = En(language);
  switch (status) {
    case rv1::SUBMITTED:
      return en ? "received" : "eingegangen";
    case rv1::ACKNOWLEDGED:
      return en ? "acknowledged" : "angenommen";
    case rv1::IN_PROGRESS:
      return en ? "in progress" : "in Bearbeitung";
    case rv1::RESOLVED:
      return en ? "resolved" : "erledigt";
    case rv1::REJECTED:
      return en ? "rejected" : "abgelehnt";
    case rv1::DUPLICATE:
      return en ? "already reported" : "bereits gemeldet";
    case rv1::CLOSED:
      return en ? "closed" : "abgeschlossen";
    default:
      return en ? "changed" : "geändert";
  }
}

Text StatusChangedText(const cityhub::events::v1::RequestStatusChanged& e, bool own,
                       std::string_view language) {
  const std::string service = ServiceName(e.service_name_de(), e.service_name_en(), language);
  const std::string status = StatusName(e.to_status(), language);
  Text t;
  if (En(language)) {
    t.title = own ? StrCat("Your report \"", service, "\" is ", status)
                  : StrCat("A report you follow (\"", service, "\") is ", status);
  } else {
    t.title = own ? StrCat("Ihre Meldung „", service, "“ ist ", status)
                  : StrCat("Eine Meldung, der Sie folgen („", service, "“), ist ", status);
  }
  t.body = e.public_note().empty()
               ? (En(language) ? std::string("There is no note from the city.")
                               : std::string("Die Stadt hat keine Anmerkung hinterlassen."))
               : Shorten(e.public_note(), 500);
  return t;
}

Text CommentAddedText(const cityhub::events::v1::CommentAdded& e, bool own,
                      std::string_view language) {
  const std::string service = ServiceName(e.service_name_de(), e.service_name_en(), language);
  const bool staff = e.author_role() == "staff";
  Text t;
  if (En(language)) {
    t.title = StrCat(staff ? "The city" : "The reporter", " commented on ",
                     own ? "your" : "a followed", " report \"", service, "\"");
  } else {
    t.title = StrCat(staff ? "Die Stadt" : "Die meldende Person", " hat ",
                     own ? "Ihre Meldung" : "eine Meldung, der Sie folgen,", " „", service,
                     "“ kommentiert");
  }
  t.body = Shorten(e.text(), 200);
  return t;
}

Text NewRequestText(const cityhub::events::v1::RequestCreated& e, std::string_view language) {
  const std::string service = ServiceName(e.service_name_de(), e.service_name_en(), language);
  Text t;
  t.title = En(language) ? StrCat("New report: ", service) : StrCat("Neue Meldung: ", service);
  std::string where = e.address();
  if (where.empty() && (e.lat() != 0 || e.long_() != 0)) where = StrCat(e.lat(), ", ", e.long_());
  t.body = where.empty() ? (En(language) ? "No location given." : "Ohne Ortsangabe.") : where;
  return t;
}

Text ReroutedText(const cityhub::events::v1::RequestRerouted& e, std::string_view language) {
  const std::string service = ServiceName(e.service_name_de(), e.service_name_en(), language);
  Text t;
  t.title = En(language) ? StrCat("Report passed to you: ", service)
                         : StrCat("Meldung an Sie weitergeleitet: ", service);
  std::string where = e.address();
  if (where.empty() && (e.lat() != 0 || e.long_() != 0)) where = StrCat(e.lat(), ", ", e.long_());
  t.body = where.empty() ? (En(language) ? "No location given." : "Ohne Ortsangabe.") : where;
  return t;
}

namespace {

// A mail that asks the recipient to follow a link, in one language: the same words make the
// text and the HTML part.
struct LinkMail {
  std::string_view subject;
  std::string_view greeting;   // "Hello": followed by the name (named mails) and a comma
  std::string_view request;    // the paragraph before the link
  std::string_view text_lead;  // the text part only: words leading to the link, after `request`
  std::string_view button;     // the link's label in the HTML part
  std::string_view note;       // the paragraph after the link
};

// `name` and `link` come from outside and are escaped in the HTML part; the fixed words are
// HTML already.
Mail Render(const LinkMail& t, std::optional<std::string_view> name, std::string_view link) {
  Mail m;
  m.subject = std::string(t.subject);
  const std::string greeting = name ? StrCat(t.greeting, " ") : std::string(t.greeting);
  m.text = StrCat(greeting, name.value_or(""), ",\n\n", t.request, t.text_lead.empty() ? "" : " ",
                  t.text_lead, "\n\n", link, "\n\n", t.note, "\n");
  m.html = Html(m.subject, StrCat("<p>", greeting, EscapeHtml(name.value_or("")), ",</p><p>",
                                  t.request, "</p><p><a href=\"", EscapeHtml(link), "\">", t.button,
                                  "</a></p><p>", t.note, "</p>"));
  return m;
}

constexpr LinkMail kVerificationEn = {
    "Please confirm your e-mail address",
    "Hello",
    "please confirm your e-mail address for the city's reporting service:",
    "",
    "Confirm my address",
    "The link works once and for one hour. If you did not sign up, ignore this mail."};
constexpr LinkMail kVerificationDe = {
    "Bitte bestätigen Sie Ihre E-Mail-Adresse",
    "Guten Tag",
    "bitte bestätigen Sie Ihre E-Mail-Adresse für den Mängelmelder der Stadt:",
    "",
    "Adresse bestätigen",
    "Der Link gilt einmal und eine Stunde lang. Wenn Sie sich nicht angemeldet haben, ignorieren "
    "Sie diese Nachricht."};
constexpr LinkMail kPasswordResetEn = {
    "Reset your password",
    "Hello",
    "someone asked to reset the password of your account.",
    "To choose a new one:",
    "Choose a new password",
    "The link works once and for one hour. If it was not you, ignore this mail: your password "
    "stays as it is."};
constexpr LinkMail kPasswordResetDe = {
    "Passwort zurücksetzen",
    "Hallo",
    "jemand möchte das Passwort Ihres Kontos zurücksetzen.",
    "Ein neues Passwort wählen Sie hier:",
    "Neues Passwort wählen",
    "Der Link gilt einmal und eine Stunde lang. Waren Sie das nicht, ignorieren Sie diese "
    "Nachricht: Ihr Passwort bleibt unverändert."};

constexpr LinkMail kReporterConfirmEn = {
    "Please confirm: updates on your report",
    "Hello",
    "you left this address with a report to the city. To hear by mail when it changes, confirm it:",
    "",
    "Yes, keep me informed",
    "The link works for seven days. Without a confirmation you get no further mail from us."};
constexpr LinkMail kReporterConfirmDe = {
    "Bitte bestätigen: Nachrichten zu Ihrer Meldung",
    "Guten Tag",
    "Sie haben diese Adresse bei einer Meldung an die Stadt angegeben. Wenn Sie per E-Mail "
    "erfahren möchten, wie es weitergeht, bestätigen Sie sie bitte:",
    "",
    "Ja, informieren Sie mich",
    "Der Link gilt sieben Tage. Ohne Bestätigung erhalten Sie keine weitere Nachricht von uns."};

}  // namespace

Mail ReporterConfirmMail(std::string_view link, std::string_view language) {
  return Render(En(language) ? kReporterConfirmEn : kReporterConfirmDe, std::nullopt, link);
}

std::string_view CommentRemovedText() {
  return "Dieser Kommentar wurde von der Stadt entfernt. / This comment was removed by the city.";
}

Text ReporterReroutedText(const cityhub::events::v1::RequestRerouted& e,
                          std::string_view language) {
  const std::string service = ServiceName(e.service_name_de(), e.service_name_en(), language);
  Text t;
  t.title = En(language) ? StrCat("Your report is now filed under \"", service, "\"")
                         : StrCat("Ihre Meldung ist jetzt unter „", service, "“ eingeordnet");
  t.body = e.public_note().empty()
               ? (En(language) ? std::string("The city passed it to the office responsible.")
                               : std::string("Die Stadt hat sie an die zuständige Stelle gegeben."))
               : Shorten(e.public_note(), 500);
  return t;
}

Mail ReporterUpdateMail(const Text& text, const ReporterLinks& links, std::string_view language) {
  const bool en = En(language);
  const std::string_view open = en ? "Open the report" : "Meldung öffnen";
  const std::string_view ask = en ? "Is it fixed? Tell us:" : "Ist es behoben? Sagen Sie es uns:";
  const std::string_view feedback = en ? "Give feedback" : "Rückmeldung geben";
  const std::string_view stop =
      en ? "No more mails about this report:" : "Keine weiteren Nachrichten zu dieser Meldung:";
  const std::string_view unsubscribe = en ? "Unsubscribe" : "Abbestellen";
  Mail m;
  m.subject = text.title;
  m.text = StrCat(text.title, "\n\n", text.body, "\n\n", open, ": ", links.request, "\n\n");
  std::string html =
      StrCat("<p><strong>", EscapeHtml(text.title), "</strong></p><p>", EscapeHtml(text.body),
             "</p><p><a href=\"", EscapeHtml(links.request), "\">", open, "</a></p>");
  if (!links.feedback.empty()) {
    StrAppend(&m.text, ask, " ", links.feedback, "\n\n");
    StrAppend(&html, "<p>", ask, " <a href=\"", EscapeHtml(links.feedback), "\">", feedback,
              "</a></p>");
  }
  StrAppend(&m.text, stop, " ", links.unsubscribe, "\n");
  StrAppend(&html, "<p style=\"color:#666\">", stop, " <a href=\"", EscapeHtml(links.unsubscribe),
            "\">", unsubscribe, "</a></p>");
  m.html = Html(text.title, html);
  return m;
}

// Without the display name: whoever registers chooses it, and with it could put words of their own
// into a mail the city sends to any address.
Mail VerificationMail(std::string_view link, std::string_view language) {
  return Render(En(language) ? kVerificationEn : kVerificationDe, std::nullopt, link);
}

Mail PasswordResetMail(std::string_view display_name, std::string_view link,
                       std::string_view language) {
  return Render(En(language) ? kPasswordResetEn : kPasswordResetDe, display_name, link);
}

Mail NotificationMail(const Text& text, std::string_view link, std::string_view language) {
  Mail m;
  m.subject = text.title;
  const std::string_view more = En(language) ? "Open the report" : "Meldung öffnen";
  const std::string_view settings =
      En(language) ? "You can change which mails you get in the app's settings."
                   : "Welche Nachrichten Sie erhalten, stellen Sie in der App ein.";
  m.text = StrCat(text.title, "\n\n", text.body, "\n\n", more, ": ", link, "\n\n", settings, "\n");
  m.html =
      Html(text.title, StrCat("<p><strong>", EscapeHtml(text.title), "</strong></p><p>",
                              EscapeHtml(text.body), "</p><p><a href=\"", EscapeHtml(link), "\">",
                              more, "</a></p><p style=\"color:#666\">", settings, "</p>"));
  return m;
}

}  // namespace cityhub::notifications
