"""Every user-facing string, in Arabic and English. Arabic strings start with Arabic text
so Telegram lays the message out right-to-left."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "greeting": (
            "Hello! I answer questions about one news article: {title}.\n"
            "Ask in English or Arabic; I quote the paragraph that answers you and cite it as ¶N.\n"
            "Try one of these:"
        ),
        "help": (
            "Send me a question about the article and I reply with the paragraph that answers it, "
            "its key sentence in bold and its number (¶N).\n"
            'Follow-up questions work: "and what did Putin say about sanctions?"\n'
            "/ask QUESTION — ask (also in groups)\n/lang ar|en|auto — reply language\n"
            "/summary — the article's key points\n/about — the source article\n/help — this message"
        ),
        "about": "Source: {title}\n{source}\n{paragraphs} paragraphs · languages: {languages} · model: {model}",
        "no_answer": "The article does not answer that.",
        "suggest": "You could ask:",
        "empty": "Please send a question, for example: /ask Where did Kim and Putin meet?",
        "truncated": "(Your question was long; I used its first {chars} characters.)",
        "confidence": "confidence",
        "high": "high",
        "medium": "medium",
        "source": "Source",
        "more": "More",
        "original": "Original",
        "no_more": "That was the last relevant paragraph.",
        "lang_set": "Reply language: {value}.",
        "lang_usage": "Usage: /lang ar, /lang en or /lang auto (reply in the language of each question).",
        "auto": "the language of each question",
        "rate_limited": "You are asking faster than I can answer. Please wait {seconds} seconds.",
        "vote_thanks": "Thanks for the feedback!",
        "stale": "This button has expired. Please ask the question again.",
        "stale_version": "That answer came from an older version of the article. Please ask again.",
        "not_admin": "Sorry, that command is only for the bot's administrators.",
        "error": "Sorry, something went wrong on my side. Please try again.",
        "unknown_command": "I don't know that command. Send /help to see what I can do.",
        "reloaded": "Re-indexed seeds/: {documents} articles, {passages} paragraphs.",
        "reload_failed": "Re-indexing failed; still answering from the previous index. Reason: {reason}",
        "stats": "Questions: {questions}\nNot answered: {refusals}\nVotes: 👍 {up} · 👎 {down}",
        "hello": (
            "Hello! I answer questions about one news article: {title}.\nAsk me anything about it, or try one of these:"
        ),
        "welcome": "You're welcome! Ask me anything else about the article.",
        "bye": "Goodbye! Come back any time with a question about the article.",
        "whoami": (
            "I'm a bot that answers questions about one news article: {title}.\n"
            "Ask in English or Arabic (dialect and Arabizi too). I quote the paragraph that answers you, "
            "cite it as ¶N, and tell you plainly when the article does not say. "
            "Send /summary for its key points, /help for the commands."
        ),
        "source_line": "Source: {source}",
        "date_line": "Published: {date}",
        "summary_intro": "Key points:",
        "summary_editor": "Key points (from the editors):",
        "fact_not_stated": "The article does not say {what}.",
        "not_mentioned": "The article does not mention {who}, so it cannot tell you that.",
        "closest": "What it does say that comes closest:",
        "alternatives": "Not quite? The article also says:",
        "list_separator": ", ",
        "paragraph_gone": "That paragraph is no longer available.",
        "gaps_none": "No open questions: nothing was refused, answered with medium confidence or voted on.",
        "gaps_header": "Questions the bot could not answer well: {groups} (asked {asks} times). Most asked first.",
        "gaps_more": "…and {more} more; decide these first.",
        "gap_group": "«{question}» ×{count} · {lang}\n{kinds}",
        "gap_wordings": "Also asked as: {wordings}",
        "gap_choose": "Which paragraph answers it?",
        "gap_not_in_article": "Not in the article",
        "gap_ignore": "Ignore",
        "gap_kind_refused": "refused",
        "gap_kind_medium": "medium confidence",
        "gap_kind_down": "👎",
        "gap_kind_up": "👍",
        "gap_taught": "✓ {paragraph} now answers this ({wordings} wordings).",
        "gap_refused": "✓ Now refused as not in the article ({wordings} wordings).",
        "gap_ignored": "✓ Ignored.",
        "gap_stale": "This question was already decided.",
        "gaps_digest": "New questions the bot could not answer well since yesterday: {groups}. Send /gaps to teach it.",
        "article_reading": "Reading {name}…",
        "article_added": (
            "Added: {title}\n{date} · {paragraphs} paragraphs · {languages}\n"
            "Answering from it now ({seconds:.1f} s). Try: {example}"
        ),
        "article_failed": "Could not add the article: {reason}. Nothing was changed.",
        "shipped_read_only": (
            "This deployment serves a shipped index, which is read-only: add or remove articles in seeds/ "
            "where the index is built, then publish it with summit-bot index --out DIR."
        ),
        "articles_header": "Articles I answer from ({count}):",
        "article_removed": "Removed: {title}. {count} articles left.",
        "remove_failed": "Could not remove it: {reason}. Nothing was changed.",
        "remove_usage": "Usage: /remove NUMBER or ID (see /articles).",
        "add_usage": "Usage: /add URL — or send me the article as a file (.txt, .md, .html, .pdf, .docx).",
        "summary_which": "Which article?",
        "no_date": "no date",
    },
    "ar": {
        "greeting": (
            "مرحبا! أجيب عن أسئلة حول مقال إخباري واحد: {title}.\n"
            "اسأل بالعربية أو الإنجليزية، وسأقتبس الفقرة التي تجيب عن سؤالك مع رقمها ¶N.\n"
            "جرّب أحد هذه الأسئلة:"
        ),
        "help": (
            "أرسل سؤالا عن المقال وسأرد بالفقرة التي تجيب عنه، مع الجملة الأهم بخط عريض ورقم الفقرة (¶N).\n"
            'يمكنك طرح أسئلة متابعة مثل: "وماذا قال بوتين عن العقوبات؟"\n'
            "‏/ask سؤال — لطرح سؤال (وفي المجموعات أيضا)\n‏/lang ar|en|auto — لغة الرد\n"
            "‏/summary — أهم نقاط المقال\n‏/about — المقال المصدر\n‏/help — هذه الرسالة"
        ),
        "about": "المصدر: {title}\n{source}\nعدد الفقرات: {paragraphs} · اللغات: {languages} · النموذج: {model}",
        "no_answer": "لا يجيب المقال عن هذا السؤال.",
        "suggest": "يمكنك أن تسأل:",
        "empty": "من فضلك أرسل سؤالا، مثلا: /ask أين التقى كيم وبوتين؟",
        "truncated": "(سؤالك طويل؛ استخدمت أول {chars} حرفا منه.)",
        "confidence": "الثقة",
        "high": "عالية",
        "medium": "متوسطة",
        "source": "المصدر",
        "more": "المزيد",
        "original": "الأصل",
        "no_more": "هذه آخر فقرة ذات صلة.",
        "lang_set": "لغة الرد: {value}.",
        "lang_usage": "الاستخدام: ‎/lang ar أو ‎/lang en أو ‎/lang auto (الرد بلغة كل سؤال).",
        "auto": "لغة كل سؤال",
        "rate_limited": "أنت تسأل أسرع مما أستطيع الإجابة. انتظر {seconds} ثانية من فضلك.",
        "vote_thanks": "شكرا على رأيك!",
        "stale": "انتهت صلاحية هذا الزر. من فضلك أعد طرح السؤال.",
        "stale_version": "جاءت تلك الإجابة من نسخة أقدم من المقال. من فضلك اطرح سؤالك مرة أخرى.",
        "not_admin": "عذرا، هذا الأمر مخصص لمشرفي البوت فقط.",
        "error": "عذرا، حدث خطأ من جهتي. حاول مرة أخرى من فضلك.",
        "unknown_command": "لا أعرف هذا الأمر. أرسل /help لمعرفة ما يمكنني فعله.",
        "reloaded": "أعيدت فهرسة seeds/‏: {documents} مقالات، {passages} فقرة.",
        "reload_failed": "فشلت إعادة الفهرسة؛ ما زلت أجيب من الفهرس السابق. السبب: {reason}",
        "stats": "الأسئلة: {questions}\nبلا إجابة: {refusals}\nالأصوات: 👍 {up} · 👎 {down}",
        "hello": (
            "أهلا وسهلا! أجيب عن أسئلة حول مقال إخباري واحد: {title}.\nاسألني ما تشاء عنه، أو جرّب أحد هذه الأسئلة:"
        ),
        "welcome": "العفو! اسألني أي شيء آخر عن المقال.",
        "bye": "مع السلامة! عد متى شئت بسؤال عن المقال.",
        "whoami": (
            "أنا بوت يجيب عن أسئلة حول مقال إخباري واحد: {title}.\n"
            "اسأل بالعربية (الفصحى أو العامية أو بالحروف اللاتينية) أو بالإنجليزية. أقتبس الفقرة التي تجيب عن سؤالك "
            "مع رقمها ¶N، وأقول لك بوضوح عندما لا يذكر المقال الجواب. "
            "أرسل ‎/summary لأهم النقاط، و‎/help للأوامر."
        ),
        "source_line": "المصدر: {source}",
        "date_line": "تاريخ النشر: {date}",
        "summary_intro": "أهم النقاط:",
        "summary_editor": "أهم النقاط (من المحررين):",
        "fact_not_stated": "لا يذكر المقال {what}.",
        "not_mentioned": "لا يذكر المقال {who}، فلا يمكنه أن يجيبك عن ذلك.",
        "closest": "أقرب ما يقوله المقال:",
        "alternatives": "ليس هذا ما تقصده؟ يقول المقال أيضا:",
        "list_separator": "، ",
        "paragraph_gone": "هذه الفقرة لم تعد متاحة.",
        "gaps_none": "لا أسئلة مفتوحة: لم يُرفض أي سؤال ولم يُجب عنه بثقة متوسطة ولم يُصوَّت عليه.",
        "gaps_header": "أسئلة لم يُحسن البوت الإجابة عنها: {groups} (طُرحت {asks} مرة). الأكثر طرحا أولا.",
        "gaps_more": "…و{more} أخرى؛ قرّر في هذه أولا.",
        "gap_group": "«{question}» ×{count} · {lang}\n{kinds}",
        "gap_wordings": "طُرح أيضا بصيغة: {wordings}",
        "gap_choose": "أي فقرة تجيب عنه؟",
        "gap_not_in_article": "ليس في المقال",
        "gap_ignore": "تجاهل",
        "gap_kind_refused": "رُفض",
        "gap_kind_medium": "ثقة متوسطة",
        "gap_kind_down": "👎",
        "gap_kind_up": "👍",
        "gap_taught": "✓ صارت {paragraph} تجيب عن هذا السؤال ({wordings} صيغ).",
        "gap_refused": "✓ صار يُرفض لأنه ليس في المقال ({wordings} صيغ).",
        "gap_ignored": "✓ تم التجاهل.",
        "gap_stale": "سبق أن اتُّخذ قرار في هذا السؤال.",
        "gaps_digest": "أسئلة جديدة لم يُحسن البوت الإجابة عنها منذ أمس: {groups}. أرسل ‎/gaps لتعليمه.",
        "article_reading": "أقرأ {name}…",
        "article_added": (
            "أضيف المقال: {title}\n{date} · عدد الفقرات: {paragraphs} · {languages}\n"
            "أجيب منه الآن ({seconds:.1f} ث). جرّب: {example}"
        ),
        "article_failed": "تعذّرت إضافة المقال: {reason}. لم يتغير شيء.",
        "shipped_read_only": (
            "هذا البوت يخدم فهرسا منشورا للقراءة فقط: أضف المقالات أو احذفها في seeds/ حيث يُبنى الفهرس، "
            "ثم انشره بالأمر summit-bot index --out DIR."
        ),
        "articles_header": "المقالات التي أجيب منها ({count}):",
        "article_removed": "حُذف: {title}. بقي {count} مقالات.",
        "remove_failed": "تعذّر الحذف: {reason}. لم يتغير شيء.",
        "remove_usage": "الاستخدام: ‎/remove رقم أو معرّف (انظر ‎/articles).",
        "add_usage": "الاستخدام: ‎/add رابط — أو أرسل المقال ملفا (.txt أو .md أو .html أو .pdf أو .docx).",
        "summary_which": "أي مقال؟",
        "no_date": "بلا تاريخ",
    },
}

# Messages that are not answers to a question in one language get both languages.
UNSUPPORTED_CONTENT = "أرسل سؤالك نصا من فضلك · Please send your question as text."

LANGUAGE_NAMES = {"ar": {"ar": "العربية", "en": "الإنجليزية"}, "en": {"ar": "Arabic", "en": "English"}}


def other_language(language: str) -> str:
    """The other of the two reply languages."""
    return "en" if language == "ar" else "ar"


def t(language: str, key: str, **values: object) -> str:
    """The string ``key`` in ``language`` (English when the language is unknown), formatted."""
    table = TEXT.get(language, TEXT["en"])
    return table[key].format(**values) if values else table[key]
