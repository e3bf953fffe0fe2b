#pragma once

#include <string>
#include <string_view>

#include "cityhub/events/v1/events.pb.h"
#include "cityhub/notifications/v1/notifications.pb.h"

// The words residents read, in German and English. Only public fields of events reach these
// templates; internal notes never do (the events do not carry them).
namespace cityhub::notifications {

struct Text {
  std::string title;
  std::string body;
};

struct Mail {
  std::string subject;
  std::string text;
  std::string html;
};

// "de" unless `language` is "en".
std::string_view Lang(std::string_view language);

// The inbox/push text for one recipient of a request event.
Text StatusChangedText(const cityhub::events::v1::RequestStatusChanged& e, bool own,
                       std::string_view language);
Text CommentAddedText(const cityhub::events::v1::CommentAdded& e, bool own,
                      std::string_view language);
Text NewRequestText(const cityhub::events::v1::RequestCreated& e, std::string_view language);
// For the operators of the department a request was rerouted to.
Text ReroutedText(const cityhub::events::v1::RequestRerouted& e, std::string_view language);

// Mails that must go out whatever the preferences say.
Mail VerificationMail(std::string_view link, std::string_view language);
Mail PasswordResetMail(std::string_view display_name, std::string_view link,
                       std::string_view language);
// A notification as a mail (the same words as the inbox entry).
Mail NotificationMail(const Text& text, std::string_view link, std::string_view language);

// Mails to anonymous reporters (#14, part C): the double opt-in, and a public change of their
// request with the links every such mail carries (feedback only while it can be given).
struct ReporterLinks {
  std::string request;
  std::string unsubscribe;
  std::string feedback;  // empty: none
};
Mail ReporterConfirmMail(std::string_view link, std::string_view language);
// The body an inbox entry about a comment gets once staff hid the comment (both languages: the
// entry does not know its reader's).
std::string_view CommentRemovedText();
// What an anonymous reporter is told of a reroute: the new category and the public note.
Text ReporterReroutedText(const cityhub::events::v1::RequestRerouted& e, std::string_view language);
// A mail to an anonymous reporter about a public change (`text`: StatusChangedText for the
// owner, or ReporterReroutedText), with the report's, feedback and unsubscribe links.
Mail ReporterUpdateMail(const Text& text, const ReporterLinks& links, std::string_view language);

std::string StatusName(cityhub::requests::v1::Status status, std::string_view language);

}  // namespace cityhub::notifications
